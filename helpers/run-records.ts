/**
 * Self-healing: every inspecting run records itself on the host it inspects (its run id, the
 * machine and process that run it, with that process's start time, and where the profile says
 * containerd, nerdctl and the CNI dirs are), removes the record when it has cleaned up, and a run
 * that starts — or `lesson-check clean` — removes what runs that are no longer alive left behind:
 * exactly what `removeRunTraces` sweeps for their run id, and nothing of a live run, nor anything
 * no record names (a namespace merely called `lc-…` by someone else is not ours).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Host } from './host.ts';
import type { Profile } from './profile.ts';
import { removeRunTraces } from './run-traces.ts';

const RECORDS_DIR = '/run/lesson-check/runs';

export interface RunRecord {
  runId: string;
  mode: string;
  /** The machine the run's process runs on, and that process (PID and start time, in clock ticks
   * after boot: a PID alone may have been reused). */
  origin: string;
  pid: number;
  pidStart: string;
  startedAt: string;
  /** The profile's paths the sweep needs. */
  paths: Profile['paths'];
  prefix: string;
}

/** This process's start time (field 22 of /proc/self/stat). */
function startTimeOf(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Writes this run's record on the host, before the run makes anything there. Best effort: a
 * user who may not write /run (verify as non-root, H1 says so) runs without one. */
export async function recordRun(host: Host, profile: Profile, runId: string, mode: string): Promise<void> {
  const record: RunRecord = {
    runId,
    mode,
    origin: hostname(),
    pid: process.pid,
    pidStart: startTimeOf('self') ?? '',
    startedAt: new Date().toISOString(),
    paths: profile.paths,
    prefix: profile.prefix,
  };
  await host.anyhow(
    [
      'sh',
      '-c',
      'mkdir -p "$1" && cat > "$2.tmp" && mv "$2.tmp" "$2"',
      'sh',
      RECORDS_DIR,
      `${RECORDS_DIR}/${runId}.json`,
    ],
    { input: JSON.stringify(record, null, 2) },
  );
}

/** Removes this run's record, once it has cleaned up after itself. */
export async function forgetRun(host: Host, runId: string): Promise<void> {
  await host.anyhow(['rm', '-f', '--', `${RECORDS_DIR}/${runId}.json`]);
}

/** Alive: its process still runs on this machine, with the start time recorded. A record of
 * another machine's run cannot be judged from here, and is left alone. */
function deadHere(r: RunRecord): boolean {
  if (r.origin !== hostname()) return false;
  const start = startTimeOf(r.pid);
  if (start === undefined || start !== r.pidStart) return true;
  // a zombie has ended
  try {
    return /^\S+ \(.*\) Z /.test(readFileSync(`/proc/${r.pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Removes what runs that ended without cleaning up left on the host; returns their records. */
export async function cleanDeadRuns(host: Host, except?: string): Promise<RunRecord[]> {
  const list = await host.run([
    'sh',
    '-c',
    'for f in "$1"/*.json; do [ -f "$f" ] && cat "$f" && echo; done; true',
    'sh',
    RECORDS_DIR,
  ]);
  const records: RunRecord[] = [];
  for (const chunk of list.stdout.split(/\n(?=\{)/)) {
    try {
      records.push(JSON.parse(chunk) as RunRecord);
    } catch {
      // a record being written right now, or not ours
    }
  }
  const dead = records.filter((r) => r.runId !== except && deadHere(r));
  const cleaned: RunRecord[] = [];
  for (const r of dead) {
    const profile = { paths: r.paths, prefix: r.prefix } as Profile;
    const complete = await removeRunTraces(host, profile, r.runId, { probesCutShort: true });
    // containerd down: the record stays for a later run; unless that containerd is gone for good
    // (a lab torn down), and with it all the run had in it
    if (!complete && (await host.stat(r.paths.ctr))) continue;
    await forgetRun(host, r.runId);
    cleaned.push(r);
  }
  return cleaned;
}
