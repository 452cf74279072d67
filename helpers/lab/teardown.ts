/**
 * Total, idempotent teardown of a sandbox lab, driven by what is on the machine rather than by
 * what a (possibly killed) run remembers: every process whose command line, executable or root
 * lies in the prefix; every mount under it; the netns and links named after the lab; the runc
 * state and shim sockets its containers left in the host's /run/containerd; its claims on IPv4
 * forwarding; then the prefix itself. Safe to run twice, and on a lab that never finished starting.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Host } from '../host/host.ts';
import {
  type TeardownReport,
  killProcessesUnder,
  namespaceCgroups,
  removeEmptyDirsNotIn,
  subdirs,
  unmountUnder,
} from '../util/processes.ts';
import { stopProcess } from '../offline/supervisor.ts';
import { dropForwardingClaim, labClaim, releaseForwarding } from '../net/forwarding.ts';
import { hostInNetns } from '../net/netns.ts';
import type { LabState } from './lab-state.ts';
import { removeNetObjects } from '../net/net-objects.ts';
import { runLabel } from '../run/run-label.ts';
import { readJsonFileIfAny } from '../util/json-file.ts';
import { readdirSafe } from '../util/files.ts';

export interface LabTeardownReport extends TeardownReport {
  mounts: number;
  netns: string[];
  links: string[];
  /** Emptied directories outside the prefix that the lab's containerd, shims and runc made. */
  hostTraces: string[];
  /** Its containers' runc state folders and shim sockets under /run/containerd, removed. */
  runtimeLeftovers: string[];
  /** Its probes' temp folders in /tmp (K4's host-local data dir), left by a walk cut short. */
  probeTempDirs: string[];
}

export async function teardownLab(host: Host, prefix: string): Promise<LabTeardownReport> {
  const state = readState(prefix);
  const report: LabTeardownReport = {
    processes: 0,
    mounts: 0,
    netns: [],
    links: [],
    hostTraces: [],
    runtimeLeftovers: [],
    probeTempDirs: [],
    removed: false,
  };
  // the daemons first, gracefully; then whatever is left (shims, containers) by force
  if (state?.containerd) await stopProcess(state.containerd.pid, 5_000);
  if (state?.registry) await stopProcess(state.registry.pid, 5_000);
  report.processes = await killProcessesUnder(prefix);
  const id = state?.id ?? prefix.split('/').pop() ?? '';
  // its links and forwarding are in the namespace it was made in, which may not be ours
  const there = state?.netns === undefined ? host : hostInNetns(host, state.netns);
  Object.assign(report, await removeNetObjects(there ?? host, id));
  // the shims are gone: what they would have removed on a container's delete is removed here
  report.runtimeLeftovers = removeRuntimeLeftovers(dirname(prefix), prefix);
  // the lab's own claim on IPv4 forwarding, and its K4 probe's if the walk was cut short there:
  // the last one let go puts back what the lab found (a namespace gone took its setting along)
  for (const claim of [id, labClaim(id)])
    if (there) await releaseForwarding(there, claim);
    else await dropForwardingClaim(host, claim, state!.netns!);
  report.mounts = await unmountUnder(host, prefix);
  report.hostTraces = removeHostTraces(id, state?.hostTracesBefore);
  report.probeTempDirs = removeProbeTempDirs(id);
  if (existsSync(prefix)) rmSync(prefix, { recursive: true, force: true });
  report.removed = !existsSync(prefix);
  return report;
}

function readState(prefix: string): LabState | undefined {
  return readJsonFileIfAny<LabState>(join(prefix, 'lab/lab.json'));
}

/** runc's default state root, where nerdctl's containers keep theirs (`<root>/<namespace>/<id>`),
 * and the folder of the shims' sockets: both the host's, whatever containerd's --state says. */
const RUNC_DEFAULT_ROOT = '/run/containerd/runc';
const SHIM_SOCKETS = '/run/containerd/s';

/**
 * The runc state folders and shim sockets that a lab's containers left in the host's
 * /run/containerd: a container's shim removes them when the container is deleted through
 * containerd, and teardown kills the shims instead. With `onlyPrefix`, that lab's: every container
 * its containerd has a task folder for (under `<prefix>/run/containerd`, its --state), and every
 * runc state folder whose rootfs lies in the prefix. Without, what labs whose prefix under
 * `labsRoot` no longer exists left in runc's default root (labs torn down before this was done, or
 * killed and their prefix removed by hand). A shim's socket is the one containerd names after the
 * lab's socket, the namespace and the container (sha256 of `<address>/<namespace>/<id>`). A
 * container still running is left alone.
 */
export function removeRuntimeLeftovers(labsRoot: string, onlyPrefix?: string): string[] {
  const containers: Array<{ prefix: string; ns: string; id: string }> = [];
  if (onlyPrefix)
    for (const ns of subdirs(join(onlyPrefix, 'run/containerd/io.containerd.runtime.v2.task')))
      for (const task of subdirs(ns)) containers.push({ prefix: onlyPrefix, ns: basename(ns), id: basename(task) });
  const states: string[] = [];
  for (const ns of subdirs(RUNC_DEFAULT_ROOT))
    for (const dir of subdirs(ns)) {
      const state = readRuncState(join(dir, 'state.json'));
      const prefix = state && labPrefixOf(state.rootfs, labsRoot);
      if (!state || !prefix || (onlyPrefix ? prefix !== onlyPrefix : existsSync(prefix))) continue;
      if (stillRunning(state.pid, state.started)) continue;
      states.push(dir);
      containers.push({ prefix, ns: basename(ns), id: basename(dir) });
    }
  const removed: string[] = [];
  for (const { prefix, ns, id } of containers) {
    // containerd's shim socket name: <address>/<namespace>/<id>, and its debug socket's
    const shim = `${join(prefix, 'run/containerd/containerd.sock')}/${ns}/${id}`;
    for (const name of [shim, `${shim}/debug`]) {
      const socket = join(SHIM_SOCKETS, createHash('sha256').update(name).digest('hex'));
      if (existsSync(socket) && !removed.includes(socket)) {
        rmSync(socket, { force: true });
        removed.push(socket);
      }
    }
  }
  for (const dir of states) {
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

function readRuncState(file: string): { rootfs: string; pid: number; started: number } | undefined {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as {
      config?: { rootfs?: string };
      init_process_pid?: number;
      init_process_start?: number;
    };
    return { rootfs: s.config?.rootfs ?? '', pid: s.init_process_pid ?? 0, started: s.init_process_start ?? 0 };
  } catch {
    return undefined;
  }
}

/** `<labsRoot>/<id>` when `path` lies in it. */
function labPrefixOf(path: string, labsRoot: string): string | undefined {
  if (!path.startsWith(`${labsRoot}/`)) return undefined;
  const [id] = path.slice(labsRoot.length + 1).split('/');
  return id ? join(labsRoot, id) : undefined;
}

/** Whether `pid` is the process runc started (the same start time, in clock ticks since boot). */
function stillRunning(pid: number, started: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // field 22 of stat, the 20th after the command's name and state
    return pid > 0 && Number(fields[19]) === started && fields[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The containerd namespaces a lab's containers use: the lesson's "default" and the run's own. */
function labNamespaces(id: string): string[] {
  return ['default', runLabel(id)];
}

/** Places outside the prefix that containerd, its shims and runc create under fixed names
 * (/run/containerd/{fifo,s,runc}, a cgroup per namespace and container), deepest first. */
function hostTraceCandidates(id: string): string[] {
  const namespaces = labNamespaces(id);
  const run = [
    '/run/containerd/fifo',
    '/run/containerd/s',
    ...namespaces.map((n) => `/run/containerd/runc/${n}`),
    '/run/containerd/runc',
    '/run/containerd',
  ];
  return [...namespaceCgroups(namespaces), ...run];
}

/** Which of those places exist now (recorded before the lab starts). */
export function snapshotHostTraces(id: string): string[] {
  return hostTraceCandidates(id).filter((p) => existsSync(p));
}

/** Removes the places the lab made, only when empty (rmdir): never anything that was there before,
 * never anything another containerd still uses. */
/** The folders the lab's probes made in /tmp with mktemp (`lesson-check-lc-<id>-<what>.XXXXXX`,
 * helpers/system/containerd.ts), which a walk killed mid-probe leaves: the lab's run is this
 * machine's, so they are this machine's /tmp (and $TMPDIR's, should it differ). */
function removeProbeTempDirs(id: string): string[] {
  const named = `lesson-check-${runLabel(id)}-`;
  const removed: string[] = [];
  for (const dir of new Set(['/tmp', tmpdir()]))
    for (const name of readdirSafe(dir)) {
      const path = join(dir, name);
      if (!name.startsWith(named) || !lstatSync(path).isDirectory()) continue;
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    }
  return removed;
}

function removeHostTraces(id: string, before: string[] = []): string[] {
  return removeEmptyDirsNotIn(hostTraceCandidates(id), before);
}
