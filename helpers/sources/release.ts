/**
 * The one way a source spec becomes the lesson's binaries: `auto` chosen (choose-source.ts), the
 * chosen source fetched, built or read, and what it lacks judged by the caller's rule. The lab,
 * the machine, the walkthrough and `fetch` differ only in those rules:
 *
 *   lab          Debian's packages allowed (no release files then); may lack nerdctl and the unit
 *   machine      release files only; may lack nothing
 *   walkthrough  release files only, asked for by name; may lack nothing
 *   fetch        github or go, asked for by name; may lack anything (each missing role is said)
 */
import type { Host } from '../host/host.ts';
import { chooseSource } from './choose-source.ts';
import { type ReleaseAsset, type ReleaseFiles, fetchGithubAssets, readDirAssets } from './github-source.ts';
import { type PodinfoBuild, buildGoAssets, readDirPodinfo } from './go-source.ts';
import { type SourceSpec, sourceName } from './source-spec.ts';

export type ReleaseRole = ReleaseAsset['role'];

export interface ResolvedRelease {
  /** The source taken: never `auto`. */
  source: SourceSpec;
  /** One line per source considered (auto), or that it was asked for: for the reports. */
  choice: string[];
  /** The release files; none for Debian's packages (source apt). */
  release?: ReleaseFiles;
  /** podinfo built from its module (go), or found beside the assets (dir). */
  podinfo?: PodinfoBuild;
}

export interface ReleaseRules {
  /** Whether Debian's packages will do (the lab): otherwise only the lesson's release files. */
  apt: boolean;
  /** The roles a release may lack and still be used; 'any': the caller says what is missing. */
  mayLack: readonly ReleaseRole[] | 'any';
}

/** Without Debian's packages (`apt: false`) a release always has its files. */
export async function resolveRelease(
  host: Host,
  spec: SourceSpec,
  rules: ReleaseRules & { apt: false },
): Promise<ResolvedRelease & { release: ReleaseFiles }>;
export async function resolveRelease(host: Host, spec: SourceSpec, rules: ReleaseRules): Promise<ResolvedRelease>;
export async function resolveRelease(host: Host, spec: SourceSpec, rules: ReleaseRules): Promise<ResolvedRelease> {
  let choice = [`source ${sourceName(spec)}: asked for with --source`];
  let source = spec;
  let resolved: Omit<ResolvedRelease, 'source' | 'choice'> | undefined;
  if (spec.kind === 'auto') {
    const chosen = await chooseSource(host, spec.versions, { apt: rules.apt });
    ({ source, reasons: choice } = chosen);
    if (chosen.built) resolved = { release: chosen.built, podinfo: chosen.built.podinfo };
  }
  if (!resolved) {
    if (source.kind === 'apt') {
      if (!rules.apt) throw new Error(`source ${sourceName(source)} has no release assets`);
      resolved = {};
    } else if (source.kind === 'github') {
      resolved = { release: await fetchGithubAssets(host, source.base, source.versions) };
    } else if (source.kind === 'go') {
      const built = await buildGoAssets(host, source.versions);
      resolved = { release: built, podinfo: built.podinfo };
    } else if (source.kind === 'dir') {
      resolved = { release: readDirAssets(source.dir, source.versions), podinfo: readDirPodinfo(source.dir) };
    } else {
      throw new Error('no source chosen');
    }
  }
  const mayLack = rules.mayLack;
  if (resolved.release && mayLack !== 'any') {
    const lacking = Object.entries(resolved.release.missing).filter(([role]) => !mayLack.includes(role as ReleaseRole));
    if (lacking.length)
      throw new Error(
        `the ${sourceName(source)} source lacks what the lesson needs: ${lacking.map(([, why]) => why).join('; ')}`,
      );
  }
  return { source, choice, ...resolved };
}
