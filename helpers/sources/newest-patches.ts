/**
 * The newest patch release of each pinned minor version (containerd 2.2.x, runc 1.4.x…), read
 * from the tags GitHub lists for the lesson's repositories, every page of them. Release
 * candidates and other modules' tags (containerd's `api/v1.9.0`) are not releases of the
 * lesson's binaries. For the workflow that walks the lesson on the newest patches.
 */
import type { LESSON_VERSIONS } from '../profile.ts';
import { abortAfter } from '../util/deadline.ts';

type Versions = typeof LESSON_VERSIONS;

const REPOS: Record<keyof Versions, string> = {
  containerd: 'containerd/containerd',
  runc: 'opencontainers/runc',
  nerdctl: 'containerd/nerdctl',
  cniPlugins: 'containernetworking/plugins',
};

export class LookupError extends Error {}

/** `pinned` with every version moved to the newest x.y.z of its x.y. */
export async function newestPatches(pinned: Versions, api: string, token?: string): Promise<Versions> {
  const newest = await Promise.all(
    (Object.keys(REPOS) as Array<keyof Versions>).map(async (k) => [
      k,
      await newestPatch(REPOS[k], pinned[k], api, token),
    ]),
  );
  return Object.fromEntries(newest) as Versions;
}

async function newestPatch(repo: string, version: string, api: string, token?: string): Promise<string> {
  const [major, minor] = version.split('.');
  let best: number | undefined;
  for (const name of await tagNames(repo, api, token)) {
    const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(name);
    if (m && m[1] === major && m[2] === minor) best = Math.max(best ?? -1, Number(m[3]));
  }
  if (best === undefined) throw new LookupError(`${repo}: no release ${major}.${minor}.x among its tags`);
  return `${major}.${minor}.${best}`;
}

/** Every tag name of `repo`, following the `Link: <…>; rel="next"` pages. */
async function tagNames(repo: string, api: string, token?: string): Promise<string[]> {
  const names: string[] = [];
  let url: string | undefined = `${api.replace(/\/$/, '')}/repos/${repo}/tags?per_page=100`;
  while (url) {
    let r: Response;
    try {
      r = await fetch(url, {
        headers: { accept: 'application/vnd.github+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        signal: abortAfter(30_000, 'no answer within 30 s'),
      });
    } catch (e) {
      throw new LookupError(`${url}: ${(e as Error).message}`);
    }
    if (!r.ok) throw new LookupError(`${url}: ${await refusal(r)}`);
    const page = (await r.json()) as Array<{ name?: unknown }>;
    if (!Array.isArray(page)) throw new LookupError(`${url}: not a list of tags`);
    for (const t of page) if (typeof t.name === 'string') names.push(t.name);
    url = /<([^>]+)>;\s*rel="next"/.exec(r.headers.get('link') ?? '')?.[1];
  }
  return names;
}

/** Why GitHub said no, in a few words: a rate limit says until when, and what lifts it. */
async function refusal(r: Response): Promise<string> {
  const message = ((await r.json().catch(() => ({}))) as { message?: string }).message ?? r.statusText;
  if ((r.status === 403 || r.status === 429) && r.headers.get('x-ratelimit-remaining') === '0') {
    const reset = Number(r.headers.get('x-ratelimit-reset'));
    const until = reset ? ` until ${new Date(reset * 1000).toISOString()}` : '';
    return `HTTP ${r.status}, rate limited${until} (a token lifts the limit: GH_TOKEN): ${message}`;
  }
  return `HTTP ${r.status}: ${message}`;
}
