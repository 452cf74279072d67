/**
 * The machine lab's Debian root filesystem: debootstrapped once (minbase, plus systemd as init,
 * sshd, and the tools the lesson uses) and cached; every machine boots a copy of it.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Host } from '../host/host.ts';
import { lockDir } from '../sources/cache-lock.ts';
import { hostArch } from '../sources/github-source.ts';
import { during } from '../util/progress.ts';

export const MACHINE_CACHE = process.env.LC_MACHINE_CACHE_DIR ?? '/var/cache/lesson-check/machine';
export const DEBIAN_MIRROR = process.env.LC_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const SUITE = 'bookworm';

/** What the lesson's host has: systemd as init, an sshd to reach it, and the lesson's own tools
 * (curl, tar; iptables for the CNI plugins' rules, kmod for the unit's `modprobe overlay`). */
export const PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'iproute2',
  'iptables',
  'curl',
  'ca-certificates',
  'procps',
  'kmod',
  'bash-completion',
];

/** A setup problem with one clear line (no systemd-nspawn, no debootstrap mirror, not root). */
export class MachineError extends Error {
  override name = 'MachineError';
}

/** A tool on this host and the Debian package that has it. */
export type ToolPackage = readonly [tool: string, pkg: string];

/** What every guest's making needs here: a Debian root debootstrapped, a CA, ssh keys. */
export const GUEST_TOOLS: readonly ToolPackage[] = [
  ['debootstrap', 'debootstrap'],
  ['openssl', 'openssl'],
  ['ssh-keygen', 'openssh-client'],
];

/** Root, and each of `tools` on this host, or a MachineError: `asRoot` says why root, or the
 * first tool missing and what to install. */
export async function requireTools(host: Host, asRoot: string, tools: readonly ToolPackage[]): Promise<void> {
  if (process.getuid?.() !== 0) throw new MachineError(asRoot);
  for (const [tool, pkg] of tools) {
    const r = await host.run(['sh', '-c', 'command -v "$1"', 'sh', tool]);
    if (r.exitCode !== 0) throw new MachineError(`${tool} not found: install Debian's ${pkg} (apt-get install ${pkg})`);
  }
}

/** The tools a machine needs on this host, or a MachineError saying what to install. */
export function requireMachineTools(host: Host): Promise<void> {
  return requireTools(host, 'a machine needs root (it boots a container with systemd-nspawn and makes a veth)', [
    ['systemd-nspawn', 'systemd-container'],
    ...GUEST_TOOLS,
  ]);
}

/** The cached rootfs, debootstrapped on first use (under a lock: machines started together make one). */
export function cachedRootfs(host: Host, cacheRoot = MACHINE_CACHE): Promise<{ dir: string; fromCache: boolean }> {
  return cachedBuild(host, {
    dir: join(cacheRoot, `${SUITE}-${hostArch()}`),
    label: `debootstrapping Debian ${SUITE} for the machine (once: about 1 to 2 minutes)`,
    build: (tmp) => debootstrap(host, SUITE, PACKAGES, tmp),
  });
}

/** A folder of the machine cache made once by `build` (into a temporary folder beside it, renamed
 * into place when complete), under the cache's lock: machines started together make one. */
export async function cachedBuild(
  host: Host,
  opts: { dir: string; label: string; build: (tmp: string) => Promise<void> },
): Promise<{ dir: string; fromCache: boolean }> {
  const { dir } = opts;
  // beside the folder, not in it: every machine gets a copy of a rootfs
  const complete = `${dir}.complete`;
  if (existsSync(complete)) return { dir, fromCache: true };
  const cacheRoot = dirname(dir);
  mkdirSync(cacheRoot, { recursive: true });
  const release = await lockDir(host, join(cacheRoot, '.lock'), 1_800_000);
  try {
    if (existsSync(complete)) return { dir, fromCache: true };
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    try {
      await during(opts.label, () => opts.build(tmp));
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      writeFileSync(complete, `${new Date().toISOString()}\n`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return { dir, fromCache: false };
  } finally {
    release();
  }
}

/** Debian `suite` (minbase and `packages`) into `dir`, from DEBIAN_MIRROR. */
export async function debootstrap(host: Host, suite: string, packages: string[], dir: string): Promise<void> {
  const r = await host.run(
    ['debootstrap', '--variant=minbase', `--include=${packages.join(',')}`, suite, dir, DEBIAN_MIRROR],
    { timeoutMs: 1_800_000 },
  );
  if (r.exitCode !== 0) {
    const why =
      (r.stderr || r.stdout)
        .trim()
        .split('\n')
        .filter((l) => /^E:|failed|Couldn't|unable/i.test(l))
        .pop() ?? `exit ${r.exitCode}`;
    throw new MachineError(`debootstrap ${suite} from ${DEBIAN_MIRROR} failed: ${why}`);
  }
}
