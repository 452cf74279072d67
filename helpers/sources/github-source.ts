/**
 * The `github` source: the lesson's own release assets at its pinned versions, for this machine's
 * architecture, with the checksums upstream publishes verified, cached across runs. `--mirror URL`
 * fetches the same paths from another base URL (release assets and the unit file alike: the unit
 * is fetched by github.com's own `/raw/` path). The `dir:PATH` source reads the same files from a
 * folder that `lesson-check fetch --to PATH` filled.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Host } from '../host/host.ts';
import { LESSON_VERSIONS } from '../profile.ts';
import { during } from '../util/progress.ts';

export const GITHUB = 'https://github.com';
const GITHUB_CACHE = process.env.LC_GITHUB_CACHE_DIR ?? '/var/cache/lesson-check/github';

export type Arch = 'amd64' | 'arm64';
export type Versions = typeof LESSON_VERSIONS;

/** `containerd=2.2.2,runc=1.4.1` → the lesson's pins with those replaced. */
export function parsePins(text: string | undefined): Versions {
  const versions = { ...LESSON_VERSIONS };
  for (const pair of (text ?? '').split(',').filter(Boolean)) {
    const [name = '', version = ''] = pair.split('=');
    if (!(name in versions) || !/^\d+\.\d+\.\d+$/.test(version))
      throw new Error(`--pin ${pair}: give name=x.y.z with a name among ${Object.keys(versions).join(', ')}`);
    versions[name as keyof Versions] = version;
  }
  return versions;
}

/** Where upstream publishes a checksum for an asset, and in which form. */
interface Checksum {
  /** Path of the checksum file, relative to the base URL. */
  path: string;
  /** The asset's name as the checksum file lists it. */
  name: string;
}

export interface ReleaseAsset {
  role: 'containerd' | 'unit' | 'runc' | 'nerdctl' | 'cni';
  /** Path relative to the base URL; its last part is the file name. */
  path: string;
  checksum?: Checksum;
}

const fileName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** The lesson's downloads, in lesson order, for `arch`. */
export function lessonAssets(v: Versions = LESSON_VERSIONS, arch: Arch = hostArch()): ReleaseAsset[] {
  const containerd =
    `/containerd/containerd/releases/download/v${v.containerd}` + `/containerd-${v.containerd}-linux-${arch}.tar.gz`;
  const runc = `/opencontainers/runc/releases/download/v${v.runc}/runc.${arch}`;
  const nerdctl = `/containerd/nerdctl/releases/download/v${v.nerdctl}/nerdctl-${v.nerdctl}-linux-${arch}.tar.gz`;
  const cni =
    `/containernetworking/plugins/releases/download/v${v.cniPlugins}` +
    `/cni-plugins-linux-${arch}-v${v.cniPlugins}.tgz`;
  return [
    { role: 'containerd', path: containerd, checksum: { path: `${containerd}.sha256sum`, name: fileName(containerd) } },
    { role: 'unit', path: `/containerd/containerd/raw/v${v.containerd}/containerd.service` },
    {
      role: 'runc',
      path: runc,
      checksum: { path: `/opencontainers/runc/releases/download/v${v.runc}/runc.sha256sum`, name: fileName(runc) },
    },
    {
      role: 'nerdctl',
      path: nerdctl,
      checksum: { path: `/containerd/nerdctl/releases/download/v${v.nerdctl}/SHA256SUMS`, name: fileName(nerdctl) },
    },
    { role: 'cni', path: cni, checksum: { path: `${cni}.sha256`, name: fileName(cni) } },
  ];
}

export function hostArch(): Arch {
  return process.arch === 'arm64' ? 'arm64' : 'amd64';
}

export interface ReleaseFiles {
  source: string;
  /** The versions fetched: the lesson's pins, or what --pin asked for. */
  versions: Versions;
  /** Role → local file. Missing roles could not be fetched (see `missing`). */
  files: Partial<Record<ReleaseAsset['role'], string>>;
  /** Role → why it is missing. */
  missing: Partial<Record<ReleaseAsset['role'], string>>;
  /** Notes for the reports: what was fetched from where, which checksums were verified. */
  notes: string[];
  fromCache: boolean;
}

/** The cache folder of `base`'s downloads. */
function cacheOf(base: string, cacheRoot: string): string {
  return join(cacheRoot, createHash('sha256').update(base).digest('hex').slice(0, 12));
}

/** True when every asset and checksum file of `versions` is already in the cache (no network). */
export function githubCached(base: string, versions: Versions, cacheRoot = GITHUB_CACHE): boolean {
  const cache = cacheOf(base, cacheRoot);
  return lessonAssets(versions).every((a) => [a.path, a.checksum?.path].every((p) => !p || existsSync(join(cache, p))));
}

/** Fetches the lesson's assets from `base` (github.com or a mirror) into the cache, verified. */
export async function fetchGithubAssets(
  host: Host,
  base: string,
  versions: Versions = LESSON_VERSIONS,
  cacheRoot = GITHUB_CACHE,
): Promise<ReleaseFiles> {
  const cache = cacheOf(base, cacheRoot);
  const result: ReleaseFiles = {
    source: base === GITHUB ? 'github' : `github (mirror ${base})`,
    versions,
    files: {},
    missing: {},
    notes: [],
    fromCache: true,
  };
  for (const asset of lessonAssets(versions)) {
    const local = join(cache, asset.path);
    if (!existsSync(local)) {
      result.fromCache = false;
      const got = await download(host, `${base}${asset.path}`, local);
      if (got !== true) {
        result.missing[asset.role] = got;
        continue;
      }
    }
    if (asset.checksum) {
      const sums = join(cache, asset.checksum.path);
      if (!existsSync(sums)) {
        const got = await download(host, `${base}${asset.checksum.path}`, sums);
        if (got !== true) throw new Error(`the checksum of ${fileName(asset.path)} could not be fetched: ${got}`);
      }
      verifyChecksum(local, sums, asset.checksum.name);
      result.notes.push(`${fileName(asset.path)}: sha256 verified against ${fileName(asset.checksum.path)}`);
    } else {
      result.notes.push(`${fileName(asset.path)}: upstream publishes no checksum`);
    }
    result.files[asset.role] = local;
  }
  return result;
}

/** The same files from a folder (filled by `lesson-check fetch --to DIR`), verified the same way. */
export function readDirAssets(dir: string, versions: Versions = LESSON_VERSIONS): ReleaseFiles {
  const result: ReleaseFiles = { source: `dir:${dir}`, versions, files: {}, missing: {}, notes: [], fromCache: true };
  for (const asset of lessonAssets(versions)) {
    const local = join(dir, fileName(asset.path));
    if (!existsSync(local)) {
      result.missing[asset.role] = `${fileName(asset.path)} is not in ${dir}`;
      continue;
    }
    if (asset.checksum) {
      verifyChecksum(local, join(dir, fileName(asset.checksum.path)), asset.checksum.name);
      result.notes.push(`${fileName(asset.path)}: sha256 verified against ${fileName(asset.checksum.path)}`);
    }
    result.files[asset.role] = local;
  }
  return result;
}

/** Copies fetched or built assets and their checksum files (which lie beside them), flat, into
 * `dir` (for `--source dir:DIR`). */
export function copyAssetsTo(fetched: ReleaseFiles, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const copied: string[] = [];
  for (const asset of lessonAssets(fetched.versions)) {
    const file = fetched.files[asset.role];
    if (!file) continue;
    for (const name of [fileName(asset.path), asset.checksum && fileName(asset.checksum.path)]) {
      if (!name || copied.includes(name)) continue;
      copyFileSync(join(dirname(file), name), join(dir, name));
      copied.push(name);
    }
  }
  return copied;
}

/** true, or why not ("HTTP 404", "curl: (7) …"). */
async function download(host: Host, url: string, to: string): Promise<true | string> {
  mkdirSync(join(to, '..'), { recursive: true });
  const tmp = `${to}.part-${process.pid}`;
  const r = await during(`downloading ${url}`, () =>
    host.run(
      [
        'curl',
        '--fail',
        '--silent',
        '--show-error',
        '--location',
        // an https mirror may redirect (github.com does, to its CDN), but never down to plain http
        ...(url.startsWith('https://') ? ['--proto', '=https', '--proto-redir', '=https'] : []),
        '--retry',
        '2',
        '--output',
        tmp,
        '--write-out',
        '%{http_code}',
        url,
      ],
      { timeoutMs: 600_000 },
    ),
  );
  if (r.exitCode !== 0) return `${url}: ${r.stderr.trim() || `curl exit ${r.exitCode}`}`;
  renameSync(tmp, to);
  return true;
}

/** Throws unless `file`'s sha256 is the one `sumsFile` lists for `name` ("<hex>  name" or "<hex> *name"). */
function verifyChecksum(file: string, sumsFile: string, name: string): void {
  if (!existsSync(sumsFile)) throw new Error(`no checksum file ${sumsFile} for ${name}`);
  const line = readFileSync(sumsFile, 'utf8')
    .split('\n')
    .find((l) => l.trim().split(/\s+\*?/)[1] === name);
  const expected = line?.trim().split(/\s+/)[0];
  if (!expected) throw new Error(`${sumsFile} lists no checksum for ${name}`);
  const actual = createHash('sha256').update(readFileSync(file)).digest('hex');
  if (actual !== expected)
    throw new Error(`checksum mismatch for ${name}: ${sumsFile} says ${expected}, the download is ${actual}`);
}
