/**
 * The default source (`auto`): the most faithful one that works here, and why the others were
 * not taken. The lesson's own release assets from GitHub come first, but only when they are
 * already in the github source's cache: the default sends nothing to github.com by itself
 * (`--source github` asks for that; a machine that may reach only a module proxy and Debian's
 * mirrors must stay so). Then the releases built from their Go modules, when a Go toolchain and
 * the module proxy answer; then Debian's packages.
 */
import type { Host } from '../host/host.ts';
import { GITHUB, type Versions, githubCached } from './github-source.ts';
import { type GoAssets, buildGoAssets } from './go-source.ts';
import type { SourceSpec } from './source-spec.ts';

export interface SourceChoice {
  source: SourceSpec;
  /** One line per source considered: taken, or why not. */
  reasons: string[];
  /** The go source's build, when it was chosen (so it is not built twice). */
  built?: GoAssets;
}

/** `apt: false` where only the lesson's release assets will do (a walkthrough): the go source's
 * failure is then the answer. */
export async function chooseSource(host: Host, versions: Versions, { apt = true } = {}): Promise<SourceChoice> {
  const reasons: string[] = [];
  if (githubCached(GITHUB, versions)) {
    reasons.push("source github: chosen (auto): the lesson's release assets, already in the cache");
    return { source: { kind: 'github', base: GITHUB, versions }, reasons };
  }
  reasons.push(
    'source github: not taken (auto): its assets are not in the cache, ' +
      'and the default does not download from github.com unasked (use --source github)',
  );
  try {
    const built = await buildGoAssets(host, versions);
    reasons.push(
      "source go: chosen (auto): the lesson's releases built from their Go modules" +
        (built.fromCache ? ' (cached build)' : ''),
    );
    return { source: { kind: 'go', versions }, reasons, built };
  } catch (e) {
    if (!apt) throw e;
    reasons.push(`source go: not taken (auto): ${(e as Error).message}`);
  }
  reasons.push(
    "source apt: chosen (auto): Debian's packages, whose versions differ from the lesson's pins, and no nerdctl",
  );
  return { source: { kind: 'apt' }, reasons };
}
