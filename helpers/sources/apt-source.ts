/**
 * The `apt` source: the lesson's binaries from Debian packages, fetched with `apt-get download`
 * under a private apt config (the host's apt state is only read, never written) and unpacked
 * with `dpkg -x` into a cache reused across runs. Nothing is installed system-wide.
 *
 * Debian 12 ships containerd 1.6, whose config cannot say `version = 3`, so containerd and the
 * CNI plugins come from unstable; runc comes from the host's own release (unstable's runc needs
 * a newer glibc). nerdctl is packaged nowhere.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import { during } from '../util/progress.ts';
import { lockDir } from './cache-lock.ts';
import { parseCniVersion, parseVersion } from '../system/versions.ts';

export const APT_CACHE = process.env.LC_CACHE_DIR ?? '/var/cache/lesson-check/apt';

const DEBIAN_MIRROR = 'http://deb.debian.org/debian';

interface PackageWanted {
  name: string;
  /** 'unstable' or 'host' (the host's own release). */
  from: 'unstable' | 'host';
}

const PACKAGES: PackageWanted[] = [
  { name: 'containerd', from: 'unstable' },
  { name: 'containernetworking-plugins', from: 'unstable' },
  { name: 'runc', from: 'host' },
  // lab infrastructure, not the system under test
  { name: 'docker-registry', from: 'host' },
  { name: 'busybox-static', from: 'host' },
];

export interface AptArtifacts {
  /** Package name → its unpacked root and version. */
  packages: Record<string, { root: string; version: string; release: string }>;
  /** Paths of the files the lesson installs and the lab uses. */
  files: {
    containerd: string;
    ctr: string;
    shim: string;
    runc: string;
    cniDir: string;
    registry: string;
    busybox: string;
    /** Absent from sources that do not ship nerdctl (apt). */
    nerdctl?: string;
  };
  /** What each binary says of its own version (these become the expected versions). */
  reported: { containerd: string; runc: string; cniPlugins: string };
  fetchedAt: string;
  /** True when this call downloaded nothing. */
  fromCache?: boolean;
}

/** Fetches (or reuses) the apt source's artifacts; labs started together fetch once. */
export async function fetchAptArtifacts(host: Host, cacheDir = APT_CACHE): Promise<AptArtifacts> {
  mkdirSync(cacheDir, { recursive: true });
  const release = await lockDir(host, join(cacheDir, '.lock'));
  try {
    return await fetchUnlocked(host, cacheDir);
  } finally {
    release();
  }
}

async function fetchUnlocked(host: Host, cacheDir: string): Promise<AptArtifacts> {
  const manifest = join(cacheDir, 'artifacts.json');
  if (existsSync(manifest)) {
    const cached = JSON.parse(readFileSync(manifest, 'utf8')) as AptArtifacts;
    if (Object.values(cached.files).every((f) => existsSync(f))) return { ...cached, fromCache: true };
  }
  const codename = hostCodename();
  const state = join(cacheDir, 'apt-state');
  for (const d of ['lists/partial', 'archives/partial']) mkdirSync(join(state, d), { recursive: true });
  const sourceList = join(state, 'sources.list');
  writeFileSync(
    sourceList,
    [
      `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${DEBIAN_MIRROR} unstable main`,
      `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${DEBIAN_MIRROR} ${codename} main`,
      '',
    ].join('\n'),
  );
  const apt = [
    '-o',
    `Dir::Etc::SourceList=${sourceList}`,
    '-o',
    'Dir::Etc::SourceParts=/nonexistent',
    '-o',
    `Dir::State::Lists=${join(state, 'lists')}`,
    '-o',
    `Dir::Cache=${join(state, 'cache')}`,
    '-o',
    `Dir::Cache::Archives=${join(state, 'archives')}`,
    // apt drops to _apt for downloads; our cache is root's
    '-o',
    'APT::Sandbox::User=root',
    '-o',
    'Debug::NoLocking=1',
  ];
  await during("reading Debian's package lists (unstable and this host's release)", () =>
    host.ensure(['apt-get', ...apt, 'update'], { timeoutMs: 300_000 }),
  );
  const debs = join(cacheDir, 'debs');
  rmSync(debs, { recursive: true, force: true });
  mkdirSync(debs, { recursive: true });
  const packages: AptArtifacts['packages'] = {};
  for (const [i, p] of PACKAGES.entries()) {
    const release = p.from === 'unstable' ? 'unstable' : codename;
    await during(`downloading Debian's ${p.name} (${i + 1}/${PACKAGES.length}, once)`, () =>
      host.ensure(['apt-get', ...apt, 'download', `${p.name}/${release}`], { cwd: debs, timeoutMs: 300_000 }),
    );
    const deb = readdirSync(debs).find((f) => f.startsWith(`${p.name}_`));
    if (!deb) throw new Error(`apt-get download ${p.name}/${release} produced no .deb in ${debs}`);
    const version = await host.capture(['dpkg-deb', '-f', join(debs, deb), 'Version']);
    const root = join(cacheDir, 'unpacked', p.name);
    const tmp = `${root}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await host.ensure(['dpkg-deb', '-x', join(debs, deb), tmp]);
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
    packages[p.name] = { root, version, release };
  }
  const root = (name: string) => packages[name]!.root;
  const files: AptArtifacts['files'] = {
    containerd: join(root('containerd'), 'usr/bin/containerd'),
    ctr: join(root('containerd'), 'usr/bin/ctr'),
    shim: join(root('containerd'), 'usr/bin/containerd-shim-runc-v2'),
    runc: join(root('runc'), 'usr/sbin/runc'),
    cniDir: join(root('containernetworking-plugins'), 'usr/lib/cni'),
    registry: join(root('docker-registry'), 'usr/bin/docker-registry'),
    busybox: join(root('busybox-static'), 'bin/busybox'),
  };
  // run, not capture: on another distribution unstable's containerd may not start (glibc), and
  // the github source needs only the registry and busybox from here
  const reported = {
    containerd: parseVersion((await host.run([files.containerd, '--version'])).stdout),
    runc: parseVersion((await host.run([files.runc, '--version'])).stdout),
    cniPlugins: parseCniVersion((await host.run([join(files.cniDir, 'bridge')])).stderr),
  };
  const artifacts: AptArtifacts = { packages, files, reported, fetchedAt: new Date().toISOString() };
  writeFileSync(manifest, JSON.stringify(artifacts, null, 2));
  return { ...artifacts, fromCache: false };
}

/** The Debian release whose runc, registry and busybox suit this host: its own on Debian;
 * Debian stable elsewhere (Ubuntu: older glibc than unstable's, and no Debian codename). */
function hostCodename(): string {
  const osRelease = readFileSync('/etc/os-release', 'utf8');
  const id = /^ID=(\S+)/m.exec(osRelease)?.[1]?.replace(/"/g, '');
  const codename = /^VERSION_CODENAME=(\S+)/m.exec(osRelease)?.[1]?.replace(/"/g, '');
  return id === 'debian' && codename ? codename : 'stable';
}
