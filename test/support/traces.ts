/** What a run or a lab could leave on this host, as snapshots to compare before and after. */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { LABS_ROOT } from '../../helpers/lab/lab-state.ts';

/** What any run of lesson-check could leave on the host outside its own folders: the same before
 * and after every lab, verify, machine and walkthrough test. */
export interface HostRuntimeTraces {
  /** net.ipv4.ip_forward here (the tests' namespace), and whether a claim on it is still held. */
  ipForward: string;
  forwardingClaims: boolean;
  /** Every container's state in runc's default root (/run/containerd/runc/<namespace>/<id>) and
   * every shim socket in /run/containerd/s: the host's, outside any prefix. */
  runcStates: string[];
  shimSockets: string[];
  /** Cgroups a lab or run names after itself (`lc-…`), and those under containerd's namespace
   * cgroups (`default/…`), in every hierarchy (v1: one per controller; v2: the one). */
  cgroups: string[];
  /** Every iptables chain, in every table. */
  iptablesChains: string[];
  /** Every entry of /run/netns, not only the lab's. */
  runNetns: string[];
  /** The folders a run's probes make in /tmp itself with mktemp, named after the run
   * (`/tmp/lesson-check-lc-<run>-k4.XXXXXX`: K4's host-local data dir), whatever $TMPDIR says, and
   * the ssh runner's (`/tmp/lesson-check-runner.XXXXXX`, on a host reached over ssh). */
  probeTempDirs: string[];
}

export async function hostRuntimeTraces(): Promise<HostRuntimeTraces> {
  const chains = await execa('iptables-save', [], { reject: false });
  return {
    ipForward: readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(),
    forwardingClaims: existsSync('/run/lesson-check-ip-forward'),
    runcStates: entries('/run/containerd/runc').flatMap(entries),
    shimSockets: entries('/run/containerd/s'),
    cgroups: labCgroups(),
    iptablesChains: chains.stdout
      .split('\n')
      .filter((l) => /^[*:]/.test(l))
      .map((l) => l.split(' ')[0]!),
    runNetns: entries('/run/netns'),
    probeTempDirs: entries('/tmp').filter((p) => /^\/tmp\/lesson-check-(lc-|runner\.)/.test(p)),
  };
}

export interface Traces extends HostRuntimeTraces {
  processes: string[];
  /** The PIDs of processes whose root is a lab's container rootfs. */
  containers: string[];
  mounts: string[];
  netns: string[];
  links: string[];
  labs: string[];
  runContainerd: boolean;
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).map((e) => join(dir, e));
  } catch {
    return [];
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The cgroups of Traces.cgroups, as paths. */
function labCgroups(): string[] {
  const root = '/sys/fs/cgroup';
  const hierarchies = existsSync(join(root, 'cgroup.controllers')) ? [root] : entries(root).filter(isDir);
  return hierarchies.flatMap((h) =>
    entries(h)
      .filter((p) => isDir(p) && /\/(lc-[^/]*|default)$/.test(p))
      .flatMap((p) => [p, ...entries(p).filter(isDir)]),
  );
}

/** Everything of a lab that could outlive it. */
export async function labTraces(): Promise<Traces> {
  const ps = await execa('ps', ['-eo', 'pid=,stat=,args='], { reject: false });
  // A zombie (stat Z) has exited and holds nothing: a killed shim is an orphan of PID 1 and stays
  // a zombie until PID 1 gets round to reaping it, which no teardown can hurry.
  const processes = ps.stdout
    .split('\n')
    .filter((l) => (l.includes(`${LABS_ROOT}/`) || l.includes('containerd-shim')) && !/^\s*\d+\s+Z/.test(l));
  // a lab's containers (nerdctl's podinfo): their command line says nothing of the lab, their root
  // mount's overlay layers do (regression: lab teardown left every podinfo of every lab running)
  const containers = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return (readFileSync(`/proc/${p}/mountinfo`, 'utf8').split('\n', 1)[0] ?? '').includes(`=${LABS_ROOT}/`);
      } catch {
        return false;
      }
    });
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(LABS_ROOT));
  const netns = (await execa('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith('lc-'));
  const links = (await execa('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(': ')[1] ?? '')
    .filter((n) => n.startsWith('lc'));
  const labs = existsSync(LABS_ROOT) ? readdirSync(LABS_ROOT) : [];
  return {
    processes,
    containers,
    mounts,
    netns,
    links,
    labs,
    runContainerd: existsSync('/run/containerd'),
    ...(await hostRuntimeTraces()),
  };
}
