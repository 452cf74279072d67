/**
 * Runs the stage suites for one host: writes the run's run.json, passes the console options and
 * the report folder on (as LC_* variables, which the suites and reporters read), and reads back
 * the results the reporter wrote. A single host runs in this process (one Node.js start less);
 * the hosts of a fleet each run in a child process of their own, several at once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunReport } from './reporters/model.ts';
import { lastRun } from './reporters/write.ts';
import type { RunInfo } from './run.ts';
import { mark } from './timing.ts';
import { ROOT } from './root.ts';
import type { SuiteControl } from './suite-runner.ts';

export interface ConsoleOptions {
  format: string;
  quiet: boolean;
}

export interface SuiteRun {
  report: RunReport | undefined;
  walkMs: number;
  /** Why the reports could not be written (their folder not writable, the disk full). */
  writeError?: string;
}

function prepare(
  info: RunInfo,
  runDir: string,
  reportsDir: string,
  only: string[] | undefined,
  console_: ConsoleOptions,
  extraEnv: Record<string, string>,
): Record<string, string> {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'run.json'), JSON.stringify(info, null, 2));
  try {
    rmSync(join(reportsDir, 'results.json'), { force: true });
  } catch {
    // a reports folder that cannot be written: said once the results are in
  }
  return {
    LC_RUN_DIR: runDir,
    LC_REPORTS_DIR: reportsDir,
    LC_FORMAT: console_.format,
    LC_QUIET: console_.quiet ? '1' : '0',
    ...(only ? { LC_ONLY: only.join(',') } : {}),
    ...extraEnv,
  };
}

/** Runs the stage suites in this process; `control.stop` cancels them. */
export async function runSuites(
  info: RunInfo,
  runDir: string,
  reportsDir: string,
  only: string[] | undefined,
  console_: ConsoleOptions,
  control: SuiteControl,
): Promise<SuiteRun> {
  const env = prepare(info, runDir, reportsDir, only, console_, {});
  const started = Date.now();
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  lastRun.report = undefined;
  lastRun.writeError = undefined;
  Object.assign(process.env, env);
  try {
    mark('cli: vitest starting');
    const { runStageSuites } = await import('./suite-runner.ts');
    await runStageSuites(control, { ownSignals: false });
    mark('cli: vitest closed');
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  // the reporter ran in this process: its report stands even where it could not be written
  return {
    report: lastRun.writeError ? lastRun.report : readReport(reportsDir),
    walkMs: Date.now() - started,
    writeError: lastRun.writeError,
  };
}

/** Runs the stage suites in a child process (`lesson-check run-suites`); a signal to it is passed on. */
export async function runSuitesInChild(
  info: RunInfo,
  runDir: string,
  reportsDir: string,
  only: string[] | undefined,
  console_: ConsoleOptions,
  child: { current?: ChildProcess },
  extraEnv: Record<string, string> = {},
): Promise<SuiteRun> {
  const env = prepare(info, runDir, reportsDir, only, console_, extraEnv);
  const started = Date.now();
  child.current = spawn(process.execPath, [join(ROOT, 'bin', 'lesson-check.js'), 'run-suites'], {
    // json: stdout carries the results document alone
    stdio: console_.format === 'json' ? ['ignore', 'ignore', 'inherit'] : 'inherit',
    env: { ...process.env, ...env },
  });
  await new Promise<void>((done) => child.current!.once('exit', () => done()));
  child.current = undefined;
  return { report: readReport(reportsDir), walkMs: Date.now() - started };
}

export function readReport(reportsDir: string): RunReport | undefined {
  try {
    return JSON.parse(readFileSync(join(reportsDir, 'results.json'), 'utf8')) as RunReport;
  } catch {
    return undefined;
  }
}
