/**
 * Runs the stage suites for one host: writes the run's description (run.json, helpers/run/run.ts)
 * into its run folder and hands the results over. A single host runs in this process (one
 * Node.js start less), and the report the reporter built is the one the command prints: it
 * travels in memory. The hosts of a fleet each run in a child process of their own, several at
 * once, and hand their results over as the results.json they wrote.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunReport } from '../reporters/model.ts';
import type { Handover } from './vitest-reporter.ts';
import type { RunInfo } from '../run/run.ts';
import { mark } from '../util/timing.ts';
import { ROOT } from '../util/root.ts';
import type { SuiteControl } from './suite-runner.ts';

export interface SuiteRun {
  report: RunReport | undefined;
  walkMs: number;
  /** Why the reports could not be written (their folder not writable, the disk full). */
  writeError?: string;
}

function prepare(info: RunInfo, runDir: string): void {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'run.json'), JSON.stringify(info, null, 2));
  try {
    rmSync(join(info.reportsDir, 'results.json'), { force: true });
  } catch {
    // a reports folder that cannot be written: said once the results are in
  }
}

/** Runs the stage suites in this process; `control.stop` cancels them. */
export async function runSuites(info: RunInfo, runDir: string, control: SuiteControl): Promise<SuiteRun> {
  prepare(info, runDir);
  const started = Date.now();
  const saved = process.env.LC_RUN_DIR;
  process.env.LC_RUN_DIR = runDir;
  let handed: Handover | undefined;
  try {
    mark('cli: vitest starting');
    const { runStageSuites } = await import('./suite-runner.ts');
    await runStageSuites(control, { ownSignals: false, info, handover: (h) => (handed = h) });
    mark('cli: vitest closed');
  } finally {
    if (saved === undefined) delete process.env.LC_RUN_DIR;
    else process.env.LC_RUN_DIR = saved;
  }
  // the reporter ran in this process: its report stands even where it could not be written
  return { report: handed?.report, walkMs: Date.now() - started, writeError: handed?.writeError };
}

/** Runs the stage suites in a child process (`lesson-check run-suites`); a signal to it is passed on. */
export async function runSuitesInChild(
  info: RunInfo,
  runDir: string,
  child: { current?: ChildProcess },
  extraEnv: Record<string, string> = {},
): Promise<SuiteRun> {
  prepare(info, runDir);
  const started = Date.now();
  child.current = spawn(process.execPath, [join(ROOT, 'bin', 'lesson-check.js'), 'run-suites'], {
    // json: stdout carries the results document alone; the IPC channel is how the child learns
    // that this process is gone (killed), and stops too (suite-runner.ts)
    stdio:
      info.console.format === 'json'
        ? ['ignore', 'ignore', 'inherit', 'ipc']
        : ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...extraEnv, LC_RUN_DIR: runDir },
  });
  await new Promise<void>((done) => child.current!.once('exit', () => done()));
  child.current = undefined;
  return { report: readReport(info.reportsDir), walkMs: Date.now() - started };
}

function readReport(reportsDir: string): RunReport | undefined {
  try {
    return JSON.parse(readFileSync(join(reportsDir, 'results.json'), 'utf8')) as RunReport;
  } catch {
    return undefined;
  }
}
