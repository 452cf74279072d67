/** The `go` source's cache: built assets per Go version, architecture and build recipe, one folder
 * per module@version, each built in a scratch copy and moved into place whole with its record
 * (build.json); the scratch of a build whose process died removed. */
import { cpSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../../offline/supervisor.ts';
import { type Arch, type Versions, lessonAssets } from '../github-source.ts';
import type { Builder, Component } from './builder.ts';
import type { Downloaded } from './module.ts';

export const GO_CACHE = process.env.LC_GO_CACHE_DIR ?? '/var/cache/lesson-check/go';

/** Bumped whenever the way a component is built changes, so that no older build is reused. */
const RECIPE = 1;

/** The cache folder of one Go version, architecture and recipe. */
export function toolchainDir(cacheRoot: string, go: string, arch: Arch): string {
  return join(cacheRoot, `${go}-linux-${arch}-r${RECIPE}`);
}

/** Where a build of `module@version` lives. */
export function componentDir(
  cacheRoot: string,
  go: string,
  arch: Arch,
  c: Pick<Component, 'module' | 'version'>,
): string {
  return join(toolchainDir(cacheRoot, go, arch), `${c.module.replace(/\//g, '_')}@${c.version}`);
}

export interface BuildRecord {
  module: string;
  version: string;
  sum: string;
  revision: string;
  go: string;
  builtAt: string;
  seconds: number;
}

export function builtNote(r: BuildRecord): string {
  const revision = r.revision ? `, revision ${r.revision}` : ', revision not given by the proxy';
  return `built from ${r.module}@${r.version} (${r.sum}${revision}) with ${r.go}`;
}

/** Removes the scratch folders of builds whose process died (killed mid-build). */
export function removeDeadScratch(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const pid = Number(/\.build-(\d+)$/.exec(entry)?.[1] ?? 0);
    if (pid && !isAlive(pid)) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

/** Builds one component in a scratch copy of its module, then moves the finished folder into place. */
export async function buildComponent(b: Builder, c: Component, mod: Downloaded, dir: string): Promise<void> {
  const started = Date.now();
  const scratch = `${dir}.build-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  const src = join(scratch, 'src');
  const out = join(scratch, 'out');
  try {
    // the module cache is read-only; nerdctl's build needs to add a folder
    cpSync(mod.dir, src, { recursive: true });
    await b.host.ensure(['chmod', '-R', 'u+w', src]);
    mkdirSync(out, { recursive: true });
    await c.build(b, src, out, mod);
    const record: BuildRecord = {
      module: c.module,
      version: c.version,
      sum: mod.sum,
      revision: mod.revision,
      go: b.go.version,
      builtAt: new Date().toISOString(),
      seconds: Math.round((Date.now() - started) / 1000),
    };
    writeFileSync(join(out, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, '..'), { recursive: true });
    renameSync(out, dir);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Hard-links each lesson asset and its checksum file into `bundle`, flat. */
export function linkBundle(bundle: string, versions: Versions, arch: Arch, dirs: Map<Component['role'], string>): void {
  mkdirSync(bundle, { recursive: true });
  for (const asset of lessonAssets(versions, arch)) {
    const from = dirs.get(asset.role === 'unit' ? 'containerd' : asset.role);
    if (!from) continue;
    for (const path of [asset.path, asset.checksum?.path]) {
      if (!path) continue;
      const name = path.slice(path.lastIndexOf('/') + 1);
      rmSync(join(bundle, name), { force: true });
      linkSync(join(from, name), join(bundle, name));
    }
  }
}
