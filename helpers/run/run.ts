/**
 * The run description: what a suite, a reporter and the vitest set-up need to know about the run
 * they are part of: the host, the profile, the mode, the checks asked for, where the reports go,
 * how the console shows it and, when the run walks a sandbox lab, the lab itself. The CLI writes it
 * as run.json into the run directory, whose path LC_RUN_DIR gives to vitest's workers (and to a
 * fleet host's child process): the one variable a run is passed by.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Host } from '../host/host.ts';
import { LocalTransport } from '../host/transport.ts';
import { type SshTarget, SshTransport } from '../host/ssh.ts';
import { type Profile, loadProfile } from '../profile.ts';
import type { Lab } from '../lab/lab.ts';
import type { LessonWalk } from '../walk/walk.ts';
import type { SetupTimings } from '../reporters/model.ts';

export type Mode = 'lab' | 'walkthrough' | 'verify' | 'grade';

/** Whether a run performs the lesson's steps (lab, walkthrough) rather than only inspecting. */
export function walks(mode: Mode): boolean {
  return mode === 'lab' || mode === 'walkthrough';
}

/** How the console shows a run: --format and --quiet. */
export interface ConsoleOptions {
  format: string;
  quiet: boolean;
}

export interface RunInfo {
  runId: string;
  mode: Mode;
  profileFile: string;
  /** --only: the checks the run is limited to; absent = all. */
  only?: string[];
  /** Where the reports are written. */
  reportsDir: string;
  console: ConsoleOptions;
  /** The host as reports name it. */
  host?: string;
  /** A remote target (ssh), and the dir of its shared connection; absent = this machine. */
  target?: SshTarget;
  sshControlDir?: string;
  /** The sandbox lab's state file, when the run walks a lab. */
  labStateFile?: string;
  /** The system walkthrough's state file, when the run walks the real host. */
  walkStateFile?: string;
  startedAt: string;
  /** What setting up the lab or machine took, for the reports. */
  setup?: SetupTimings;
}

export interface RunContext {
  runDir: string;
  info: RunInfo;
  host: Host;
  profile: Profile;
  /** The sandbox lab, when the run walks one (its own steps, faults and supervised daemon). */
  lab: Lab | undefined;
  /** The walk the lesson's steps are performed by: the lab's, or the real host's. */
  walk: LessonWalk | undefined;
}

let cached: RunContext | undefined;

function runDirFromEnv(): string {
  const dir = process.env.LC_RUN_DIR;
  if (!dir) throw new Error('LC_RUN_DIR is not set: run the suites through `lesson-check` (e.g. `npm run lab`)');
  return dir;
}

function readRunInfo(runDir: string): RunInfo {
  return JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunInfo;
}

const described = new Map<string, RunInfo>();

/** The description of the run this process is part of, read once; undefined outside a run
 * (`lesson-check verify --list` only collects the checks' titles). */
export function currentRunInfo(): RunInfo | undefined {
  const dir = process.env.LC_RUN_DIR;
  if (!dir) return undefined;
  if (!described.has(dir)) described.set(dir, readRunInfo(dir));
  return described.get(dir);
}

/** Whether check `id` is part of this run (--only). */
export function inThisRun(id: string): boolean {
  const only = currentRunInfo()?.only;
  return !only || only.includes(id);
}

/** The run's context, built once per worker. */
export async function loadRunContext(): Promise<RunContext> {
  if (cached) return cached;
  const runDir = runDirFromEnv();
  // the description this process has read already (the checks' declarations read it first)
  const info = currentRunInfo() ?? readRunInfo(runDir);
  const host = new Host(info.target ? new SshTransport(info.target, info.sshControlDir) : new LocalTransport());
  const profile = loadProfile(info.profileFile);
  // the walks' code is loaded only by the runs that walk (verify and grade only inspect)
  const lab = info.labStateFile
    ? (await import('../lab/lab.ts')).Lab.open(info.labStateFile, host, profile)
    : undefined;
  const walk =
    lab ??
    (info.walkStateFile
      ? (await import('../walk/system-walk.ts')).SystemWalk.open(info.walkStateFile, host, profile)
      : undefined);
  cached = { runDir, info, host, profile, lab, walk };
  return cached;
}
