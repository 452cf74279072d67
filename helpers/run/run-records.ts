/**
 * Self-healing: every inspecting run records itself on the host it inspects (its run id, the
 * machine and process that run it, with that process's start time, and where the profile says
 * containerd, nerdctl and the CNI dirs are), removes the record when it has cleaned up, and a run
 * that starts — or `lesson-check clean` — removes what runs that are no longer alive left behind:
 * exactly what `removeRunTraces` sweeps for their run id, and nothing of a live run, nor anything
 * no record names (a namespace merely called `lc-…` by someone else is not ours).
 *
 * A graded host's root is its student: the records folder there is input like any other. A
 * record is acted on only if it has exactly the shape `recordRun` writes (a run id of ours, a
 * PID, absolute paths); anything else is reported and left alone, and what is read is bounded.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Host } from '../host/host.ts';
import type { Profile } from '../profile.ts';
import { removeRunTraces } from './run-traces.ts';
import { visibleLine } from '../host/host-text.ts';

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

/** What is read of the records folder: a live host holds one record per run at once, a few. */
const MAX_RECORDS = 32;
/** A record is some 900 bytes. */
const MAX_RECORD_BYTES = 16 * 1024;
/** Dead runs swept by one run as it starts; the next run sweeps the next ones. */
const MAX_DEAD_SWEPT = 4;

/** A run id as HostRun makes it (3 random bytes in hex). */
export const RUN_ID = /^[0-9a-f]{6}$/;
const MODES = ['lab', 'walkthrough', 'verify', 'grade'];
/** Path fields a profile may leave empty (the lesson's layout has no sandbox parts). */
const OPTIONAL_PATHS = ['hostsDir', 'pidFile', 'runcRoot', 'cgroupParent'];
const PATH_KEYS = [
  'containerd',
  'ctr',
  'shim',
  'runc',
  'nerdctl',
  'configToml',
  'socket',
  'cniBinDir',
  'cniConfDir',
  'unitFile',
  'bashCompletion',
  'nerdctlDataRoot',
  ...OPTIONAL_PATHS,
];

/** An absolute path of printable characters, without `.` or `..` parts. */
function isCleanPath(v: unknown): v is string {
  return (
    typeof v === 'string' &&
    v.length <= 1024 &&
    v.startsWith('/') &&
    // eslint-disable-next-line no-control-regex -- control characters are what is refused
    !/[\u0000-\u001f\u007f-\u009f]/.test(v) &&
    !v.split('/').some((part) => part === '.' || part === '..')
  );
}

/** The record, if `text` is one of the shape recordRun writes under the file `name`; else why not. */
export function parseRunRecord(name: string, text: string): RunRecord | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'not a JSON object';
  const r = doc as Record<string, unknown>;
  const keys = ['runId', 'mode', 'origin', 'pid', 'pidStart', 'startedAt', 'paths', 'prefix'];
  const extra = Object.keys(r).find((k) => !keys.includes(k));
  if (extra !== undefined) return `an unknown key "${extra}"`;
  if (typeof r.runId !== 'string' || !RUN_ID.test(r.runId)) return 'no run id of lesson-check’s';
  if (name !== `${r.runId}.json`) return `its file is not named after its run id`;
  if (typeof r.mode !== 'string' || !MODES.includes(r.mode)) return 'no mode of lesson-check’s';
  if (typeof r.origin !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(r.origin)) return 'no host name';
  if (typeof r.pid !== 'number' || !Number.isInteger(r.pid) || r.pid < 1 || r.pid > 4_194_304) return 'no PID';
  if (typeof r.pidStart !== 'string' || !/^\d{0,20}$/.test(r.pidStart)) return 'no process start time';
  if (typeof r.startedAt !== 'string' || r.startedAt.length > 40 || Number.isNaN(Date.parse(r.startedAt)))
    return 'no start date';
  if (r.prefix !== '' && !isCleanPath(r.prefix)) return 'a prefix that is not an absolute path';
  const paths = r.paths as Record<string, unknown> | null;
  if (typeof paths !== 'object' || paths === null || Array.isArray(paths)) return 'no paths';
  for (const k of Object.keys(paths)) if (!PATH_KEYS.includes(k)) return `an unknown path "${k}"`;
  for (const k of PATH_KEYS) {
    const v = paths[k];
    if (v === '' && OPTIONAL_PATHS.includes(k)) continue;
    if (!isCleanPath(v)) return `its path ${k} is not an absolute path`;
  }
  return r as unknown as RunRecord;
}

/** What the records folder holds: each file's name and first MAX_RECORD_BYTES, base64 (so that
 * a line is one file whatever it holds), MAX_RECORDS files at most. The reading run's own record
 * ($4, being written meanwhile) is passed over: it takes no place among the files read. */
const READ_RECORDS =
  'for f in "$1"/*; do [ -f "$f" ] || continue; case "${f##*/}" in "$4".json|"$4".json.tmp) continue;; esac; ' +
  'printf "%s %s\\n" "${f##*/}" "$(head -c "$2" -- "$f" | base64 -w0)"; done | head -n "$3"; true';

export interface RecordsFound {
  /** Dead runs whose traces were removed. */
  cleaned: RunRecord[];
  /** Files of the records folder that are no record of lesson-check's, each with why: left alone. */
  foreign: string[];
}

/** Removes what runs that ended without cleaning up left on the host; returns their records, and
 * says which files of the records folder were left alone as not lesson-check's. */
export async function cleanDeadRuns(host: Host, except?: string): Promise<RecordsFound> {
  const list = await host.run([
    'sh',
    '-c',
    READ_RECORDS,
    'sh',
    RECORDS_DIR,
    String(MAX_RECORD_BYTES),
    String(MAX_RECORDS),
    except ?? '',
  ]);
  const records: RunRecord[] = [];
  const foreign: string[] = [];
  for (const line of list.stdout.split('\n').filter(Boolean)) {
    const m = /^(\S{1,255}) ([A-Za-z0-9+/=]*)$/.exec(line);
    const name = m?.[1] ?? visibleLine(line.slice(0, 60));
    // a record being written right now is a .tmp file, not yet a record
    if (name.endsWith('.json.tmp') && RUN_ID.test(name.slice(0, -'.json.tmp'.length))) continue;
    const parsed = m ? parseRunRecord(name, Buffer.from(m[2]!, 'base64').toString('utf8')) : 'an unreadable name';
    if (typeof parsed === 'string') foreign.push(`${visibleLine(name)} (${parsed})`);
    else records.push(parsed);
  }
  const dead = records.filter((r) => r.runId !== except && deadHere(r)).slice(0, MAX_DEAD_SWEPT);
  const cleaned: RunRecord[] = [];
  for (const r of dead) {
    if (host.stopped) break;
    const profile = { paths: r.paths, prefix: r.prefix } as Profile;
    const complete = await removeRunTraces(host, profile, r.runId, { probesCutShort: true });
    // containerd down: the record stays for a later run; unless that containerd is gone for good
    // (a lab torn down), and with it all the run had in it
    if (!complete && (await host.stat(r.paths.ctr))) continue;
    await forgetRun(host, r.runId);
    cleaned.push(r);
  }
  return { cleaned, foreign };
}

/** One line for a host's console and report: the files of its records folder left alone. */
export function foreignRecordsNote(foreign: string[]): string | undefined {
  if (!foreign.length) return undefined;
  const shown = foreign.slice(0, 5).join(', ');
  const more = foreign.length > 5 ? ` and ${foreign.length - 5} more` : '';
  const files = `${foreign.length} file${foreign.length === 1 ? '' : 's'}`;
  return `left alone ${files} in ${RECORDS_DIR} that are no run record lesson-check wrote: ${shown}${more}`;
}
