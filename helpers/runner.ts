/**
 * Runs the stage suites for one host in a vitest child process: writes the run's run.json, passes
 * the console options and the report folder on, and reads back the results the reporter wrote.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunReport } from './reporters/model.ts';
import type { RunInfo } from './run.ts';
import { mark } from './timing.ts';
import { ROOT } from './root.ts';


export interface ConsoleOptions {
  format: string;
  quiet: boolean;
}

export interface SuiteRun {
  report: RunReport | undefined;
  walkMs: number;
}

/** Runs the stage suites in a vitest child; a signal to us is passed on to it. */
export async function runSuites(info: RunInfo, runDir: string, reportsDir: string, only: string[] | undefined, console_: ConsoleOptions, child: { current?: ChildProcess }, extraEnv: Record<string, string> = {}): Promise<SuiteRun> {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'run.json'), JSON.stringify(info, null, 2));
  rmSync(join(reportsDir, 'results.json'), { force: true });
  const started = Date.now();
  mark('cli: vitest spawned');
  child.current = spawn(process.execPath, [join(ROOT, 'bin', 'lesson-check.js'), 'run-suites'], {
    // json: stdout carries the results document alone
    stdio: console_.format === 'json' ? ['ignore', 'ignore', 'inherit'] : 'inherit',
    env: { ...process.env, LC_RUN_DIR: runDir, LC_REPORTS_DIR: reportsDir, LC_FORMAT: console_.format, LC_QUIET: console_.quiet ? '1' : '0', ...(only ? { LC_ONLY: only.join(',') } : {}), ...extraEnv },
  });
  await new Promise<void>((done) => child.current!.once('exit', () => done()));
  child.current = undefined;
  mark('cli: vitest exited');
  return { report: readReport(reportsDir), walkMs: Date.now() - started };
}


export function readReport(reportsDir: string): RunReport | undefined {
  try {
    return JSON.parse(readFileSync(join(reportsDir, 'results.json'), 'utf8')) as RunReport;
  } catch {
    return undefined;
  }
}
