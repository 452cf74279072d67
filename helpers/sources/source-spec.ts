/** `--source`, `--mirror` and `--pin`, parsed: the source a lab, machine, walkthrough or fetch
 * takes the lesson's binaries from, and its name in the reports. */
import { GITHUB, type Versions, parsePins } from './github-source.ts';

/** Where the lesson's binaries come from: Debian packages, the lesson's release assets (from
 * github.com or a mirror of it, built from their Go modules, or a folder of them), or `auto`:
 * the most faithful of those that works here (choose-source.ts). */
export type SourceSpec =
  | { kind: 'apt' }
  | { kind: 'github'; base: string; versions: Versions }
  | { kind: 'go'; versions: Versions }
  | { kind: 'dir'; dir: string; versions: Versions }
  | { kind: 'auto'; versions: Versions };

export function parseSource(
  text: string,
  opts: { mirror?: string; pins?: string; insecureMirror?: boolean } = {},
): SourceSpec {
  if (opts.insecureMirror && !opts.mirror?.startsWith('http://'))
    throw new Error('--insecure-mirror goes with an http:// --mirror (and --source github)');
  if (text === 'apt') {
    if (opts.mirror || opts.pins) throw new Error('--mirror and --pin go with --source github, go or dir:');
    return { kind: 'apt' };
  }
  const versions = parsePins(opts.pins);
  if (text === 'github') {
    if (opts.mirror) checkMirror(opts.mirror, opts.insecureMirror === true);
    return { kind: 'github', base: (opts.mirror ?? GITHUB).replace(/\/+$/, ''), versions };
  }
  if (opts.mirror) throw new Error('--mirror goes with --source github');
  if (text === 'go') return { kind: 'go', versions };
  if (text === 'auto') return { kind: 'auto', versions };
  if (text.startsWith('dir:') && text.length > 4) return { kind: 'dir', dir: text.slice(4), versions };
  throw new Error(`unknown source ${text} (auto, github, go, apt, dir:PATH)`);
}

/** A loopback mirror (the project's tests, a mirror on this machine): no one is on its path. */
const LOOPBACK = /^http:\/\/(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?(\/|$)/i;

/**
 * A mirror serves the checksums as well as the assets, so they protect only what the transport
 * does: over plain http anyone on the path can swap both, and it is refused unless asked for in
 * so many words (--insecure-mirror), or on loopback.
 */
function checkMirror(mirror: string, insecure: boolean): void {
  if (/^https:\/\/[^/]/.test(mirror)) return;
  if (!/^http:\/\/[^/]/.test(mirror)) throw new Error(`--mirror ${mirror}: give an https:// URL`);
  if (insecure || LOOPBACK.test(mirror)) return;
  throw new Error(
    `--mirror ${mirror}: plain http lets anyone on the path swap the assets and their checksums alike ` +
      '(both come from the mirror): serve it over https, or add --insecure-mirror to take that risk',
  );
}

export function sourceName(s: SourceSpec): string {
  if (s.kind === 'github') return s.base === GITHUB ? 'github' : `github (mirror ${s.base})`;
  return s.kind === 'dir' ? `dir:${s.dir}` : s.kind;
}
