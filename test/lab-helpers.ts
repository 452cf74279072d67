/** Runs `lesson-check lab` as a user would, and looks at what a lab leaves on the machine. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { XMLParser } from 'fast-xml-parser';
import type { RunReport } from '../helpers/reporters/model.ts';
import { LABS_ROOT } from '../helpers/lab/lab.ts';

const ROOT = resolve(import.meta.dirname, '..');

export interface LabRun {
  exitCode: number | null;
  /** npm itself dies of a Ctrl-C (our CLI goes on to tear down, then exits 130). */
  signal: NodeJS.Signals | null;
  output: string;
  reportsDir: string;
  report: RunReport | undefined;
  junit: string | undefined;
}

/** `npm run lab -- ARGS --reports <fresh dir>`; `onOutput` may interrupt it (gets the child's PID). */
export async function runLab(args: string[], onOutput?: (text: string, pid: number) => void): Promise<LabRun> {
  const reportsDir = mkdtempSync(join(tmpdir(), 'lc-reports-'));
  // its own process group, as a terminal's foreground job: a Ctrl-C reaches the whole group
  const child = spawn('npm', ['run', '--silent', 'lab', '--', ...args, '--reports', reportsDir], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  const onData = (d: Buffer) => {
    output += d.toString();
    onOutput?.(output, child.pid!);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => child.once('close', (code, sig) => done([code, sig])));
  const read = (f: string) => (existsSync(join(reportsDir, f)) ? readFileSync(join(reportsDir, f), 'utf8') : undefined);
  const results = read('results.json');
  return { exitCode, signal, output, reportsDir, report: results ? (JSON.parse(results) as RunReport) : undefined, junit: read('junit.xml') };
}

/** testcase name → its element, from a JUnit document. */
export function junitCases(xml: string): Map<string, Record<string, any>> {
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
  const suites = [doc.testsuites.testsuite].flat() as Array<Record<string, any>>;
  return new Map(suites.flatMap((s) => [s.testcase].flat()).map((tc: Record<string, any>) => [tc.name as string, tc]));
}

export interface Traces {
  processes: string[];
  mounts: string[];
  netns: string[];
  links: string[];
  labs: string[];
  runContainerd: boolean;
}

/** Everything of a lab that could outlive it. */
export async function labTraces(): Promise<Traces> {
  const ps = await execa('ps', ['-eo', 'pid=,stat=,args='], { reject: false });
  // A zombie (stat Z) has exited and holds nothing: a killed shim is an orphan of PID 1 and stays
  // a zombie until PID 1 gets round to reaping it, which no teardown can hurry.
  const processes = ps.stdout.split('\n').filter((l) => (l.includes(`${LABS_ROOT}/`) || l.includes('containerd-shim')) && !/^\s*\d+\s+Z/.test(l));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(LABS_ROOT));
  const netns = (await execa('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith('lc-'));
  const links = (await execa('ip', ['-o', 'link', 'show'])).stdout.split('\n').map((l) => l.split(': ')[1] ?? '').filter((n) => n.startsWith('lc'));
  const labs = existsSync(LABS_ROOT) ? readdirSync(LABS_ROOT) : [];
  return { processes, mounts, netns, links, labs, runContainerd: existsSync('/run/containerd') };
}
