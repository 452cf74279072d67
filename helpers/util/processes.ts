/**
 * Ending what a sandbox or a machine ran, whatever state it was left in: the processes that run
 * from a folder (daemons, shims, containers) killed until none is left, its mounts unmounted
 * deepest first, and the cgroups and host folders containerd made removed only once empty.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync, rmdirSync, statSync } from 'node:fs';
import type { Host } from '../host/host.ts';
import { stopProcess } from '../offline/supervisor.ts';

/** What a teardown (a lab's, a machine's, a VM's) did: each adds what is its own. */
export interface TeardownReport {
  /** Processes killed that still ran from its folder. */
  processes: number;
  /** Whether its folder (a lab's prefix, a machine's or a VM's folder) is gone. */
  removed: boolean;
}

/** SIGKILLs whatever still runs from `dir` (shims, containers), until nothing does; how many. */
export async function killProcessesUnder(dir: string): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 5; round++) {
    const pids = processesOf(dir);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // already gone
      }
    }
    await Promise.all(pids.map((pid) => stopProcess(pid, 2_000)));
  }
  return killed;
}

/** Unmounts everything under `dir`, deepest first (lazily where it is busy); how many. */
export async function unmountUnder(host: Host, dir: string): Promise<number> {
  const points = mountsUnder(dir);
  for (const mountPoint of points) {
    const r = await host.run(['umount', mountPoint]);
    if (r.exitCode !== 0) await host.anyhow(['umount', '-l', mountPoint]);
  }
  return points.length;
}

/** PIDs whose command line, executable or root directory lies under the prefix (daemons, shims, containers). */
function processesOf(prefix: string): number[] {
  const inside = (p: string) => p === prefix || p.startsWith(`${prefix}/`);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const exe = safeReadlink(`/proc/${pid}/exe`);
      // a container's root is its rootfs mount under the prefix's containerd state dir; once it
      // has pivoted into it (nerdctl's podinfo), only its root mount's overlay layers say so
      const root = safeReadlink(`/proc/${pid}/root`);
      const [rootMount = ''] = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n', 1);
      if (
        cmdline.split('\0').some((arg) => arg.includes(`${prefix}/`)) ||
        inside(exe) ||
        (root !== '/' && inside(root)) ||
        rootMount.includes(`=${prefix}/`)
      )
        found.push(pid);
    } catch {
      // exited while we looked
    }
  }
  return found;
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** Mount points under the prefix, deepest first. */
function mountsUnder(prefix: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\040/g, ' '))
    .filter((p) => p.startsWith(`${prefix}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** The cgroups containerd's runc makes per namespace and container with the cgroupfs driver
 * (`/<namespace>/<id>`, where nerdctl puts its containers), in every hierarchy, deepest first.
 * A systemd machine on cgroup v1 makes them in the host's own hierarchies where nspawn does not
 * delegate a controller (cpuset). */
export function namespaceCgroups(namespaces: string[]): string[] {
  // cgroup v2 is one hierarchy at /sys/fs/cgroup; v1 (and hybrid) has one per controller below it
  const hierarchies = existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : subdirs('/sys/fs/cgroup');
  return hierarchies.flatMap((h) => namespaces.flatMap((n) => [...subdirs(`${h}/${n}`), `${h}/${n}`]));
}

/** The folders directly in `dir` (none when it is missing). */
export function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir)
      .map((e) => `${dir}/${e}`)
      .filter((p) => statSync(p).isDirectory());
  } catch {
    return [];
  }
}

/** Removes each of `dirs` (in their order: deepest first) that is empty and not in `before`:
 * rmdir, so never one in use by someone else. Those removed. */
export function removeEmptyDirsNotIn(dirs: string[], before: string[]): string[] {
  const removed: string[] = [];
  for (const p of dirs) {
    if (before.includes(p)) continue;
    try {
      rmdirSync(p);
      removed.push(p);
    } catch {
      // not empty (in use by someone else) or already gone
    }
  }
  return removed;
}
