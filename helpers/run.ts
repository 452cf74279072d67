/**
 * What a suite needs to know about the run it is part of: the host, the profile, the mode and,
 * when the run walks a sandbox lab, the lab itself. The CLI writes run.json into the run
 * directory and passes that directory as LC_RUN_DIR.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Host } from './host.ts';
import { LocalTransport } from './transport.ts';
import { type SshTarget, SshTransport } from './ssh.ts';
import { type Profile, loadProfile } from './profile.ts';
import type { Lab } from './lab/lab.ts';
import type { LessonWalk } from './lab/walk.ts';
import type { SetupTimings } from './reporters/model.ts';

export type Mode = 'lab' | 'walkthrough' | 'verify' | 'grade';

/** Whether a run performs the lesson's steps (lab, walkthrough) rather than only inspecting. */
export function walks(mode: Mode): boolean {
  return mode === 'lab' || mode === 'walkthrough';
}

export interface RunInfo {
  runId: string;
  mode: Mode;
  profileFile: string;
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

export function runDirFromEnv(): string {
  const dir = process.env.LC_RUN_DIR;
  if (!dir) throw new Error('LC_RUN_DIR is not set: run the suites through `lesson-check` (e.g. `npm run lab`)');
  return dir;
}

export function readRunInfo(runDir: string): RunInfo {
  return JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunInfo;
}

/** The run's context, built once per worker. */
export async function loadRunContext(): Promise<RunContext> {
  if (cached) return cached;
  const runDir = runDirFromEnv();
  const info = readRunInfo(runDir);
  const host = new Host(info.target ? new SshTransport(info.target, info.sshControlDir) : new LocalTransport());
  const profile = loadProfile(info.profileFile);
  // the walks' code is loaded only by the runs that walk (verify and grade only inspect)
  const lab = info.labStateFile ? (await import('./lab/lab.ts')).Lab.open(info.labStateFile, host, profile) : undefined;
  const walk =
    lab ??
    (info.walkStateFile
      ? (await import('./lab/system-walk.ts')).SystemWalk.open(info.walkStateFile, host, profile)
      : undefined);
  cached = { runDir, info, host, profile, lab, walk };
  return cached;
}
