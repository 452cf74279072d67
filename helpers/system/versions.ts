/**
 * What the lesson's binaries say about their version, read the same way by the checks (is it the
 * pinned release?) and by the lab's sources (which versions did this source bring?).
 */

/** The first x.y.z in a `--version` line ("containerd github.com/containerd/containerd/v2 v2.2.1 …"). */
export function parseVersion(text: string): string {
  const [line = ''] = text.split('\n');
  // skip the module path's "/v2" so "containerd/v2 2.1.9" gives 2.1.9
  const m = /(?:^|\s)v?(\d+\.\d+\.\d+)/.exec(line);
  return m?.[1] ?? 'unknown';
}

/** A CNI plugin's self-description, run with no CNI_COMMAND: "CNI bridge plugin v1.9.0" or "… version unknown". */
export function parseCniVersion(about: string): string {
  const m = /CNI \S+ plugin (?:v?(\d+\.\d+\.\d+)|version (unknown))/.exec(about);
  return m?.[1] ?? m?.[2] ?? 'unreadable';
}

/** A semantic version anywhere in a text (podinfo's `--version` prints just that). */
export const SEMVER = /\bv?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?\b/;
