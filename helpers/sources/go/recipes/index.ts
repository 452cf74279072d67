/** The lesson's five components, as upstream's Makefiles and release scripts build them: one
 * recipe each. A change to how one builds bumps RECIPE (../cache.ts), so no older build is reused. */
import type { Arch, Versions } from '../../github-source.ts';
import type { Component } from '../builder.ts';
import { cniRecipe } from './cni.ts';
import { containerdRecipe } from './containerd.ts';
import { nerdctlRecipe } from './nerdctl.ts';
import { PODINFO, podinfoRecipe } from './podinfo.ts';
import { runcRecipe } from './runc.ts';

export function components(v: Versions, arch: Arch): Component[] {
  return [containerdRecipe(v, arch), runcRecipe(v, arch), nerdctlRecipe(v, arch), cniRecipe(v, arch), podinfoRecipe()];
}

/** "containerd 2.2.1", "the CNI plugins 1.9.0", "podinfo 6.9.2": as the console names a build. */
export function componentName(c: Component): string {
  const version = c.role === 'podinfo' ? PODINFO.release : c.version.replace(/^v/, '');
  return `${c.role === 'cni' ? 'the CNI plugins' : c.role} ${version}`;
}
