/**
 * verify and grade over many hosts: each reached through ssh, `parallel` at a time, each run as
 * its own suite process with its own profile. A host that cannot be reached, times out, or whose
 * sudo wants a password is reported as an error for that host; the others go on. On Ctrl-C no
 * new host starts, running ones are stopped, and the finished hosts are still reported.
 *
 * A graded host is its student's: it may stall or flood every command. What it costs is bounded
 * here, not by the host: each command's kept output (the transport), each check (its timeout),
 * and each host as a whole (`hostTimeoutMs`, after which its checks are stopped as on Ctrl-C and
 * its sweep has a deadline of its own), so one host never holds the class up past its deadline.
 */
import { type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CATALOGUE } from '../checks/catalogue.ts';
import { FingerprintStream, fingerprint } from '../coach/fingerprint.ts';
import { HostRun } from '../suite-run/lifecycle.ts';
import { Host } from '../host/host.ts';
import { firstLine, reportFolderName, visibleLine } from '../host/host-text.ts';
import { foreignRecordsNote } from '../run/run-records.ts';
import type { TargetHost } from '../inventory/inventory.ts';
import { type Profile, lessonProfile, loadProfile, profileFileFor } from '../profile.ts';
import { type RunReport, countStates, gradeOf, unrunCheck } from '../reporters/model.ts';
import type { Mode } from '../run/run.ts';
import { runSuitesInChild } from '../suite-run/runner.ts';
import { SshTransport } from '../host/ssh.ts';
import { DID_NOT_ANSWER } from '../host/transport.ts';
import { abortAfter, abortAfterSignal } from '../util/deadline.ts';

export interface FleetOptions {
  mode: Extract<Mode, 'verify' | 'grade'>;
  hosts: TargetHost[];
  /** 'lesson' or a profile file, for hosts whose inventory names none. */
  defaultProfile: string;
  reportsDir: string;
  only: string[] | undefined;
  parallel: number;
  /** How long one host may take, from connecting to its sweep (which gets at least 15 s more). */
  hostTimeoutMs: number;
  info: (line: string) => void;
  interrupted: () => boolean;
  /** Aborted at the first signal: hosts stop where they are, and their sweeps get SWEEP_AFTER_SIGNAL_MS. */
  stop: AbortSignal;
  /** Filled with what lesson-check's own code threw while checking a host. */
  internalErrors: InternalError[];
}

/** What lesson-check's own code threw while checking a host (a bug): that host's row says so,
 * the class goes on, and the command exits 2 once its reports are written. */
export interface InternalError {
  host: string;
  message: string;
  stack: string;
}

/** Every host's report, in host-name order (so shards merge to the same result). */
export async function checkFleet(opts: FleetOptions, children: Set<ChildProcess>): Promise<RunReport[]> {
  const classStart = Date.now();
  const queue = [...opts.hosts].sort((a, b) => a.target.name.localeCompare(b.target.name));
  const names = queue.map((h) => h.target.name);
  const reports: RunReport[] = [];
  let failing = 0;
  const folder = (h: TargetHost) => reportFolderName(h.target.name, names);
  // load must not cost a student points: a host whose commands did not answer in time has fewer
  // hosts beside it from then on (halved; one more back after each host that answered in time),
  // and is checked again alone once the round is over
  let allowed = Math.max(1, Math.min(opts.parallel, opts.hosts.length));
  const again: TargetHost[] = [];
  const one = async (h: TargetHost) => {
    const report = await checkHostContained(h, opts, children, folder(h));
    if (!report) return;
    reports.push(report);
    const slow = timeErrors(report);
    if (slow) {
      allowed = Math.max(1, Math.floor(allowed / 2));
      again.push(h);
    } else allowed = Math.min(opts.parallel, allowed + 1);
    const n = countStates(report.checks);
    if (n.failed + n.error) failing++;
    opts.info(
      `[${reports.length}/${opts.hosts.length}] ${report.host}: ` +
        `${n.passed} passed, ${n.failed} failed, ${n.error} errors, ${n.skipped} skipped` +
        `${report.grade ? `, score ${report.grade.percent}%` : ''} (hosts failing so far: ${failing})` +
        (slow
          ? `; ${slow} checks did not answer in time: ${allowed} host(s) at once now, and it is checked again alone`
          : ''),
    );
  };
  await new Promise<void>((done) => {
    let running = 0;
    const pump = () => {
      while (running < allowed && queue.length && !opts.interrupted()) {
        running++;
        void one(queue.shift()!).finally(() => {
          running--;
          pump();
        });
      }
      if (running === 0) done();
    };
    pump();
  });
  // the checks again alone, within the class's own time: a host's deadline from the class's start
  // (a class no longer than its slowest host's deadline, plus its sweep, as without them)
  const classEnd = classStart + opts.hostTimeoutMs;
  for (const h of again) {
    if (opts.interrupted()) break;
    const left = classEnd - Date.now();
    if (left < MIN_RECHECK_MS) {
      opts.info(`${h.target.name}: not checked again alone: the class's time (--host-timeout) is up`);
      continue;
    }
    const report = await checkHostContained(h, { ...opts, hostTimeoutMs: left }, children, folder(h));
    const at = reports.findIndex((r) => r.host === h.target.name);
    if (!report || at < 0) continue;
    const n = countStates(report.checks);
    // the second look stands unless it could do less than the first (cut short by the class's time)
    const kept = n.error <= countStates(reports[at]!.checks).error;
    if (kept) reports.splice(at, 1, report);
    opts.info(
      `${report.host}, checked again alone: ${n.passed} passed, ${n.failed} failed, ${n.error} errors, ` +
        `${n.skipped} skipped${report.grade ? `, score ${report.grade.percent}%` : ''}` +
        (kept ? '' : ' (the first look had fewer errors: it stands)'),
    );
  }
  // a host that could not be checked weighs each check as the checked hosts do
  const weights = new Map(
    reports
      .flatMap((r) => r.checks)
      .filter((c) => c.section !== c.stage)
      .map((c) => [c.id, c.weight]),
  );
  for (const r of reports) {
    for (const c of r.checks) if (c.section === c.stage) c.weight = weights.get(c.id) ?? c.weight;
    if (r.grade) r.grade = gradeOf(r.checks);
  }
  return reports.sort((a, b) => a.host.localeCompare(b.host));
}

/** A host is checked again alone only with this much of the class's time left. */
const MIN_RECHECK_MS = 30_000;

/** How many of a report's checks erred because a command did not answer in time. */
function timeErrors(report: RunReport): number {
  return report.checks.filter((c) => c.state === 'error' && c.cause?.includes(DID_NOT_ANSWER)).length;
}

/**
 * A class watched (grade --watch): each host's fingerprint (coach/fingerprint.ts) streamed over
 * a connection of its own, started before the class's first round (so that what changes during
 * the round is seen), and looked at every WATCH_POLL_MS; a host is checked again, as in a round of
 * checkFleet, only when it changed, and `changed` gets the class's reports after each such check.
 * `watch` ends when `stop` aborts and closes the connections; `close` closes them unwatched.
 */
export async function fleetWatcher(
  opts: FleetOptions,
  stop: AbortSignal,
): Promise<{
  watch(
    reports: RunReport[],
    children: Set<ChildProcess>,
    changed: (reports: RunReport[]) => Promise<void>,
  ): Promise<void>;
  close(): Promise<void>;
}> {
  const names = opts.hosts.map((h) => h.target.name);
  const hosts = await Promise.all(
    opts.hosts.map(async (h) => {
      const transport = new SshTransport(h.target);
      const host = new Host(transport);
      host.signal = stop;
      const file = h.profileFile ?? opts.defaultProfile;
      let profile: Profile | undefined;
      try {
        profile = file === 'lesson' ? lessonProfile() : loadProfile(file);
      } catch {
        // its round says why it cannot be checked; there is nothing to watch
      }
      // the host's fingerprint streamed over its connection; compared one by one if it cannot be
      const stream = profile ? new FingerprintStream(transport, profile) : undefined;
      await stream?.start();
      const seen = profile && !stream?.live ? await fingerprint(host, profile) : '';
      host.takeTranscript();
      return { h, transport, host, profile, seen, stream };
    }),
  );
  return {
    async watch(reports, children, changed) {
      await Promise.all(
        hosts.map(async (w) => {
          try {
            while (w.profile && !stop.aborted) {
              await abortableSleep(WATCH_POLL_MS, stop);
              if (stop.aborted) break;
              if (w.stream?.live) {
                if (!w.stream.takeChange()) continue;
              } else {
                const now = await fingerprint(w.host, w.profile);
                w.host.takeTranscript();
                if (now === w.seen) continue;
                w.seen = now;
              }
              if (stop.aborted) continue;
              const report = await checkHostContained(w.h, opts, children, reportFolderName(w.h.target.name, names));
              if (!report || stop.aborted) continue;
              const at = reports.findIndex((r) => r.host === report.host);
              if (at >= 0) reports[at] = report;
              else reports.push(report);
              await changed(reports);
            }
          } finally {
            w.stream?.stop();
            await w.transport.close();
          }
        }),
      );
    },
    async close() {
      for (const w of hosts) w.stream?.stop();
      await Promise.all(hosts.map((w) => w.transport.close()));
    },
  };
}

/** How often a watched class's hosts are compared: one `stat` over each host's connection. */
const WATCH_POLL_MS = 1_000;

function abortableSleep(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const end = () => {
      clearTimeout(timer);
      stop.removeEventListener('abort', end);
      done();
    };
    const timer = setTimeout(end, ms);
    stop.addEventListener('abort', end, { once: true });
  });
}

/** checkHost, where whatever lesson-check itself throws becomes that host's error row (noted in
 * `internalErrors`), never the class's end. */
async function checkHostContained(
  h: TargetHost,
  opts: FleetOptions,
  children: Set<ChildProcess>,
  folder: string,
): Promise<RunReport | undefined> {
  try {
    return await checkHost(h, opts, children, folder);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    opts.internalErrors.push({
      host: h.target.name,
      message,
      stack: e instanceof Error ? (e.stack ?? message) : message,
    });
    const why = `lesson-check's own error while checking this host (a bug, not its state): ${firstLine(message)}`;
    return errorReport(h, opts, '', new Date().toISOString(), why, 'report it to lesson-check with the details file');
  }
}

/** One host: reach it, run the suites against it, remove the run's own namespace there. */
async function checkHost(
  h: TargetHost,
  opts: FleetOptions,
  children: Set<ChildProcess>,
  folder: string,
): Promise<RunReport | undefined> {
  const transport = new SshTransport(h.target);
  const host = new Host(transport);
  const run = new HostRun(host, opts.mode);
  const { id: runId, startedAt } = run;
  // the host's deadline: its commands outside the checks are cancelled, its checks stopped
  const deadline = new AbortController();
  const holder: { current?: ChildProcess } = {};
  const deadlineAt = Date.now() + opts.hostTimeoutMs;
  const timer = setTimeout(() => {
    deadline.abort();
    stopChild(holder);
  }, opts.hostTimeoutMs);
  // a signal stops the host's commands as its deadline does (its child has the signal passed on)
  host.signal = AbortSignal.any([deadline.signal, opts.stop]);
  const overDeadline = () => deadline.signal.aborted;
  // the lesson's until the host's own is read: the run's namespace is removed with whichever
  let profile: Profile = lessonProfile();
  try {
    const profileFile = profileFileFor(h.profileFile ?? opts.defaultProfile, run.dir);
    try {
      profile = loadProfile(profileFile);
    } catch (e) {
      return errorReport(
        h,
        opts,
        runId,
        startedAt,
        `its profile cannot be used: ${(e as Error).message}`,
        'fix the lesson_check_profile of this host in the inventory',
      );
    }
    // reach it first: an unreachable host, or a sudo that wants a password, is this host's error
    const hello = await host.run(['true'], { timeoutMs: 30_000 });
    if (opts.interrupted()) return undefined;
    if (overDeadline()) return deadlineReport(h, opts, runId, startedAt, 'while connecting');
    if (hello.exitCode !== 0) {
      const why = hello.timedOut
        ? 'timed out connecting'
        : (hello.spawnError ??
          (/password is required|a terminal is required/.test(hello.stderr)
            ? 'sudo asks for a password'
            : hello.stderr.trim() || `exit ${hello.exitCode}`));
      const hint = /sudo/.test(why)
        ? `give ${h.target.user} passwordless sudo on the host, or connect as root`
        : `check that \`ssh -o BatchMode=yes${h.target.port ? ` -p ${h.target.port}` : ''} ` +
          `${h.target.user ? `${h.target.user}@` : ''}${h.target.host} true\` works from this machine` +
          (transport.agentWithheld ? `; ${transport.agentWithheld}` : '');
      return errorReport(h, opts, runId, startedAt, `${UNREACHABLE}${why}`, hint);
    }
    const keyUnchecked = await transport.hostKeyUnchecked();
    if (keyUnchecked) opts.info(`${h.target.name}: ${keyUnchecked}`);
    if (transport.withoutRunner)
      opts.info(`${h.target.name}: each command in an ssh session of its own (slower): ${transport.withoutRunner}`);
    const found = await run.begin(profile);
    if (opts.interrupted()) return undefined;
    if (overDeadline()) return deadlineReport(h, opts, runId, startedAt, 'before its checks started');
    for (const run of found.cleaned)
      opts.info(
        `${h.target.name}: removed what run ${run.runId} (PID ${run.pid} on ${run.origin}) left there: ` +
          'it ended without cleaning up',
      );
    const foreign = foreignRecordsNote(found.foreign);
    if (foreign) opts.info(visibleLine(`${h.target.name}: ${foreign}`));
    const info = run.describe({
      host: h.target.name,
      target: h.target,
      sshControlDir: transport.controlDir,
      profileFile,
      only: opts.only,
      reportsDir: join(opts.reportsDir, 'hosts', folder),
      console: { format: 'plain', quiet: true },
    });
    // one host's Markdown stays in its folder: the class's merged summary is the step summary
    const running = runSuitesInChild(info, run.suitesDir, holder, { GITHUB_STEP_SUMMARY: '' });
    if (holder.current) children.add(holder.current);
    // the deadline may have passed while the suites were being started
    if (overDeadline()) stopChild(holder);
    const { report } = await running;
    if (holder.current) children.delete(holder.current);
    if (report && foreign) report.notes.push(foreign);
    if (report && keyUnchecked) report.hostKeyUnchecked = keyUnchecked;
    if (opts.interrupted()) return report;
    if (overDeadline()) return report ? pastDeadline(report, opts) : deadlineReport(h, opts, runId, startedAt, '');
    return (
      report ??
      errorReport(
        h,
        opts,
        runId,
        startedAt,
        'the checks wrote no results (see the console)',
        'run again with --only to narrow it down',
      )
    );
  } finally {
    clearTimeout(timer);
    // a fleet's child may have been killed (Ctrl-C) with nothing said: sweep everything, always,
    // within what is left of the host's deadline, or SWEEP_MIN_MS past it (a host slow on purpose
    // is swept as far as it lets itself be; its next run removes the rest, as after a killed run)
    host.signal = AbortSignal.any([
      abortAfter(Math.max(deadlineAt - Date.now(), SWEEP_MIN_MS)),
      abortAfterSignal(opts.stop, SWEEP_AFTER_SIGNAL_MS),
    ]);
    await run.end(profile, { probesCutShort: true, tolerant: true, before: () => transport.close() });
  }
}

/** The sweep of a host told to stop by a signal (Ctrl-C) is given this long: a second on a host
 * that answers; one that does not is left to its next run, as after a killed run. */
const SWEEP_AFTER_SIGNAL_MS = 5_000;

/** The least a host's sweep (its run's namespace, probes and record) is given: a second or two
 * on a host that answers, past its deadline or not. */
const SWEEP_MIN_MS = 15_000;
/** How long a host's suites have to end, once stopped at its deadline, before they are killed. */
const STOP_GRACE_MS = 15_000;

/** Stops a host's suites as Ctrl-C does (its probes undo themselves), killed if they linger. */
function stopChild(holder: { current?: ChildProcess }): void {
  const child = holder.current;
  if (!child) return;
  child.kill('SIGINT');
  const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  child.once('exit', () => clearTimeout(kill));
}

/** Why a host's checks are errors once its deadline passed. */
function overDeadlineWhy(opts: FleetOptions): string {
  return `the host did not finish within its deadline (--host-timeout ${opts.hostTimeoutMs / 1000} s)`;
}

/** A host stopped at its deadline: the checks it had not finished are errors that say so. */
function pastDeadline(report: RunReport, opts: FleetOptions): RunReport {
  const why = overDeadlineWhy(opts);
  for (const c of report.checks)
    if (c.state === 'error') {
      c.observed = `${why}; the check: ${c.observed ?? ''}`;
      c.cause = why;
      c.hint = 'the host answers too slowly, or a command on it never ends: see the transcript';
    }
  if (report.grade) report.grade = gradeOf(report.checks);
  return report;
}

function deadlineReport(h: TargetHost, opts: FleetOptions, runId: string, startedAt: string, when: string): RunReport {
  const why = `${overDeadlineWhy(opts)}${when ? ` ${when}` : ''}`;
  return errorReport(h, opts, runId, startedAt, why, 'the host answers too slowly: see how long one command takes');
}

/** A host the checks could not run on: every check an error, saying why. */
const UNREACHABLE = 'host unreachable: ';

/** Whether a host's report says it could not be reached at all (ssh, or sudo asking a password). */
export function unreachable(report: RunReport): string | undefined {
  const [first] = report.checks;
  const all = report.checks.length > 0 && report.checks.every((c) => c.cause?.startsWith(UNREACHABLE));
  return all ? first!.cause!.slice(UNREACHABLE.length) : undefined;
}

function errorReport(
  h: TargetHost,
  opts: FleetOptions,
  runId: string,
  startedAt: string,
  why: string,
  hint: string,
): RunReport {
  const checks = CATALOGUE.filter(({ id }) => !opts.only || opts.only.includes(id)).map((entry) =>
    unrunCheck(entry, { expected: `the host ${h.target.name} can be checked`, observed: why, hint, cause: why }),
  );
  const report: RunReport = {
    runId,
    host: h.target.name,
    profile: h.profileFile ?? opts.defaultProfile,
    mode: opts.mode,
    source: 'unknown',
    versions: {},
    standInImages: false,
    notes: [],
    startedAt,
    durationMs: 0,
    checks,
  };
  if (opts.mode === 'grade') report.grade = gradeOf(checks);
  return report;
}
