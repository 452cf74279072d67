/** Runs lesson-check as a user would (`npm run lab`, `lesson-check ARGS`), each run with a reports
 * folder of its own, and reads back what it wrote there. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunReport } from '../../helpers/reporters/model.ts';

const ROOT = resolve(import.meta.dirname, '../..');

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
