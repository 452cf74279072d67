/** Runs `lesson-check lab` as a user would, and looks at what a lab leaves on the machine. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { XMLParser } from 'fast-xml-parser';
import type { RunReport } from '../helpers/reporters/model.ts';
import { LABS_ROOT } from '../helpers/lab/lab-state.ts';
import { teardownLab } from '../helpers/lab/teardown.ts';
import { Host } from '../helpers/host/host.ts';
import { LocalTransport } from '../helpers/host/transport.ts';
import { loadProfile } from '../helpers/profile.ts';

const ROOT = resolve(import.meta.dirname, '..');

export interface LabRun {
  exitCode: number | null;
  /** stdout alone (output has both streams, interleaved). */
  stdout: string;
  /** npm itself dies of a Ctrl-C (our CLI goes on to tear down, then exits 130). */
  signal: NodeJS.Signals | null;
  output: string;
  reportsDir: string;
  report: RunReport | undefined;
  junit: string | undefined;
}

/** `npm run lab -- ARGS --reports <fresh dir>`; `onOutput` may interrupt it (gets the child's PID). */
export async function runLab(
  args: string[],
  onOutput?: (text: string, pid: number) => void,
  env: Record<string, string> = {},
): Promise<LabRun> {
  return run(['npm', 'run', '--silent', 'lab', '--', ...args], onOutput, env);
}

/** `lesson-check ARGS --reports <fresh dir>`. */
export async function lessonCheck(
  args: string[],
  env: Record<string, string> = {},
  onOutput?: (text: string, pid: number) => void,
): Promise<LabRun> {
  return run([process.execPath, join(ROOT, 'bin/lesson-check.js'), ...args], onOutput, env);
}

async function run(
  argv: string[],
  onOutput?: (text: string, pid: number) => void,
  env: Record<string, string> = {},
): Promise<LabRun> {
  const reportsDir = mkdtempSync(join(tmpdir(), 'lc-reports-'));
  // its own process group, as a terminal's foreground job: a Ctrl-C reaches the whole group
  // every command that writes reports writes them to a folder of the test's own
  const takesReports = !['fetch', 'clean', 'pins'].includes(argv[2] ?? '');
  const child = spawn(argv[0]!, [...argv.slice(1), ...(takesReports ? ['--reports', reportsDir] : [])], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  let output = '';
  let stdout = '';
  const onData = (d: Buffer) => {
    output += d.toString();
    onOutput?.(output, child.pid!);
  };
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    onData(d);
  });
  child.stderr.on('data', onData);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) =>
    child.once('close', (code, sig) => done([code, sig])),
  );
  const read = (f: string) => (existsSync(join(reportsDir, f)) ? readFileSync(join(reportsDir, f), 'utf8') : undefined);
  const results = read('results.json');
  return {
    exitCode,
    stdout,
    signal,
    output,
    reportsDir,
    report: results ? (JSON.parse(results) as RunReport) : undefined,
    junit: read('junit.xml'),
  };
}

/** The IDs of a report's checks that failed or could not run. */
export function failing(report: RunReport | undefined): string[] {
  return (report?.checks ?? []).filter((c) => c.state === 'failed' || c.state === 'error').map((c) => c.id);
}

/** One check of a report, by ID. */
export function check(report: RunReport | undefined, id: string) {
  return report!.checks.find((c) => c.id === id)!;
}

/** A JUnit testcase element, as parsed (attributes unprefixed): the parts the tests look at. */
export interface JUnitCase {
  name: string;
  failure?: unknown;
  error?: unknown;
  skipped?: unknown;
  'system-out'?: string;
}

/** A parsed JUnit document: an element that occurs once is the element itself, not an array. */
interface JUnitDocument {
  testsuites: { testsuite: JUnitSuite | JUnitSuite[] };
}
interface JUnitSuite {
  testcase: JUnitCase | JUnitCase[];
}

/** testcase name → its element, from a JUnit document. */
export function junitCases(xml: string): Map<string, JUnitCase> {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as JUnitDocument;
  const suites = [doc.testsuites.testsuite].flat();
  return new Map(suites.flatMap((s) => [s.testcase].flat()).map((tc) => [tc.name, tc]));
}

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

/** Keeps a lab up (`lab --keep`) and returns its profile file. A lab whose walk failed is kept
 * too (that is what --keep does): it is removed here before the error, or nothing would. */
export async function keepLab(args: string[] = []): Promise<string> {
  const run = await runLab(['--keep', ...args]);
  const profile = /its profile: (\S+)/.exec(run.output)?.[1];
  if (run.exitCode === 0 && profile) return profile;
  if (profile) await removeLab(loadProfile(profile).prefix);
  throw new Error(`lab --keep failed (exit ${run.exitCode}):\n${run.output}`);
}

/** Several labs kept up at once. `remove` tears down every one that came up, also when it is
 * called while some are still coming up (a beforeAll that failed on one, or timed out): it waits
 * for each to end first, so none is left for the next test file (regression: class-board's
 * beforeAll failed on one of three labs, the two others' profiles were never assigned, and a
 * lab left up kept the host's forwarding claim for every later file). */
export function keepLabs(argLists: string[][]): { ready: Promise<string[]>; remove: () => Promise<void> } {
  const keeping = argLists.map((args) => keepLab(args));
  return {
    ready: Promise.all(keeping),
    async remove() {
      for (const kept of await Promise.allSettled(keeping))
        if (kept.status === 'fulfilled') await removeLab(loadProfile(kept.value).prefix);
    },
  };
}

/** Tears down one kept lab. */
export async function removeLab(prefix: string): Promise<void> {
  await teardownLab(new Host(new LocalTransport()), prefix);
}

/** What a read-only run must leave exactly as it found it: containerd's namespaces and, in each,
 * containers, tasks, images, content and snapshots; the lesson's files; netns, links, cgroups.
 * (containerd's own database and blob store change under any client and are not compared.) */
export async function snapshotLab(profileFile: string): Promise<Record<string, string>> {
  const profile = loadProfile(profileFile);
  const ctr = (...args: string[]) =>
    execa(profile.paths.ctr, ['--address', profile.paths.socket, ...args], { reject: false }).then((r) => r.stdout);
  const snap: Record<string, string> = {};
  const namespaces = (await ctr('namespaces', 'ls', '-q')).split('\n').filter(Boolean);
  snap.namespaces = namespaces.join(',');
  for (const ns of namespaces) {
    for (const what of [
      ['containers', 'ls'],
      ['tasks', 'ls'],
      ['images', 'ls'],
      ['content', 'ls', '-q'],
      ['snapshots', 'ls'],
    ]) {
      snap[`${ns} ${what[0]}`] = await ctr('--namespace', ns, ...what);
    }
  }
  const files = await execa(
    'find',
    [
      profile.prefix,
      '(',
      '-path',
      `${profile.prefix}/var/lib/containerd`,
      '-o',
      '-path',
      `${profile.prefix}/lab`,
      '-o',
      '-path',
      `${profile.prefix}/run`,
      ')',
      '-prune',
      '-o',
      '-printf',
      '%p %s %T@ %m\n',
    ],
    { reject: false },
  );
  snap.files = files.stdout.split('\n').sort().join('\n');
  snap.netns = (await execa('ip', ['netns', 'list'])).stdout;
  snap.links = (await execa('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(': ')[1])
    .sort()
    .join(',');
  snap.cgroups = (
    await execa('find', ['/sys/fs/cgroup', '-maxdepth', '3', '-type', 'd', '-name', 'lc-*'], { reject: false })
  ).stdout
    .split('\n')
    .sort()
    .join(',');
  // the bridge probe's CNI ADD turns forwarding on for the whole host: it must be put back
  snap.ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  snap.forwardingClaims = String(existsSync('/run/lesson-check-ip-forward'));
  return snap;
}

/** Those of `ids` whose run overlapped another's in time, from a run's LC_TIMINGS marks. */
export function overlappingChecks(timingsFile: string, ids: string[]): string[] {
  const spans = new Map<string, { start?: number; end?: number }>();
  for (const line of readFileSync(timingsFile, 'utf8').trim().split('\n')) {
    const m = /^(\d+) \d+ check (\w+): (start|end)$/.exec(line);
    if (m && ids.includes(m[2]!)) spans.set(m[2]!, { ...spans.get(m[2]!), [m[3]!]: Number(m[1]) });
  }
  const overlaps = (x: { start?: number; end?: number }, y: { start?: number; end?: number }) =>
    x.start! < y.end! && y.start! < x.end!;
  return [...spans]
    .filter(([id, s]) => [...spans].some(([other, t]) => other !== id && overlaps(s, t)))
    .map(([id]) => id)
    .sort();
}
