/**
 * `lesson-check coach`: beside a student walking the lesson, where they are and what the lesson
 * expects next, re-checked the moment the host changes. Read-only as verify is (each look is a
 * verify of the run's own, its probes in the run's namespace, swept on every ending), so a coach
 * may run on the student's host or, with --target, from anywhere that reaches it over ssh.
 *
 * A look costs one verify (about 1 s here); between looks the coach costs one `stat` of the
 * lesson's paths (coach/fingerprint.ts) at each file-system event on their folders and every
 * POLL_MS (over ssh, the host prints it every second to one command of the shared connection),
 * and looks again only when that changed.
 */
import { type FSWatcher, appendFileSync, existsSync, mkdirSync, statSync, watch } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Board, boardOf, stateChanges } from '../coach/board.ts';
import { FingerprintStream, fingerprint, watchedPaths } from '../coach/fingerprint.ts';
import { changeLines, redraw, renderScreen } from '../coach/screen.ts';
import { Host } from '../host/host.ts';
import { type TargetHost, targetsFromUrls } from '../inventory/inventory.ts';
import { lessonProfile, loadProfile, profileFileFor } from '../profile.ts';
import { consoleStyle } from '../reporters/console.ts';
import type { RunReport } from '../reporters/model.ts';
import { probesCutShort } from '../run/run-traces.ts';
import { SshTransport } from '../host/ssh.ts';
import { HostRun } from '../suite-run/lifecycle.ts';
import { runSuites } from '../suite-run/runner.ts';
import type { SuiteControl } from '../suite-run/suite-runner.ts';
import { trapSignals } from '../run/signals.ts';
import { LocalTransport } from '../host/transport.ts';
import { PROFILE, REPORTS, UsageError, noPositionals, parseOptions } from './options.ts';
import { ENV, declareCommand } from './usage.ts';

export const COACH_COMMAND = declareCommand({
  name: 'coach',
  synopsis: ['coach [--profile lesson|FILE] [--target ssh://[user@]host[:port]] [--once] [--reports DIR]'],
  about:
    'Beside a student walking the lesson: the sections done, where they are and what the lesson expects next, ' +
    'checked again the moment the host changes, until Ctrl-C. Read-only, as verify is; on this host, or with ' +
    '--target on one reached over ssh. On a terminal the board is redrawn in place; elsewhere, one line per change.',
  options: {
    ...PROFILE,
    target: { type: 'string', arg: 'URL', help: 'coach a host over ssh, ssh://[user@]host[:port], not this one' },
    once: { type: 'boolean', default: false, help: "one look, then exit with verify's exit codes" },
    ...REPORTS,
  },
  writes: "in --reports DIR: each look's reports (as verify's), and coach-progress.jsonl: every check's changes",
  exits:
    "0 all passed, 1 checks failed (--once: verify's codes), 2 usage, setup or internal error; watching, " +
    'it ends on a signal: 128+N (130: Ctrl-C)',
  env: [ENV.ssh, ENV.sshRunner, ENV.noColor, ENV.bundleCache],
});

/** How often the coach compares the host's fingerprint when no file-system event came first:
 * locally the events come first for every path the lesson writes (a folder's own events for the
 * containers it holds), and the poll is a backstop; over ssh it is how changes are seen. */
const POLL_MS = { local: 2_000, ssh: 1_000 };

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export async function coachCommand(args: string[]): Promise<number> {
  const { values: opts, positionals } = parseOptions(COACH_COMMAND, args);
  noPositionals('coach', positionals);
  let target: TargetHost | undefined;
  if (opts.target) {
    try {
      [target] = targetsFromUrls([opts.target]);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  // read the profile before anything is made: a bad one exits 2 and leaves nothing behind
  const profile = opts.profile === 'lesson' ? lessonProfile() : loadProfile(opts.profile);
  const reportsDir = resolve(opts.reports);
  const transport = target ? new SshTransport(target.target) : new LocalTransport();
  const host = new Host(transport);
  const run = new HostRun(host, 'verify');
  const profileFile = resolve(profileFileFor(opts.profile, run.dir));
  const name = target?.target.name ?? 'local';
  const tty = !opts.once && process.stdout.isTTY === true;
  const style = consoleStyle(process.stdout, 'pretty');
  // a coach's many looks would each append a summary to a CI step's: none is its business
  delete process.env.GITHUB_STEP_SUMMARY;
  const suites: SuiteControl = {};
  const stop = new AbortController();
  const signals = trapSignals((sig) => {
    if (!tty) console.error(`lesson-check coach: ${sig} received: stopping and removing this run's probes`);
    stop.abort();
    suites.stop?.(sig);
  });
  let report: RunReport | undefined;
  let drawn = 0;
  const watchers: FSWatcher[] = [];
  let stream: FingerprintStream | undefined;
  try {
    await run.begin(profile);
    const wasDone = new Set<string>();
    const log = join(reportsDir, 'coach-progress.jsonl');
    mkdirSync(reportsDir, { recursive: true });
    let board: Board | undefined;
    // a check that could not finish (an error, not a failure) says nothing of the host: the coach
    // looks again, changed or not, rather than show it until the student changes something; after
    // 1 s, then twice as long each time it errs again (at most 30 s), so that an error that lasts
    // does not turn the coach into a verify loop
    const retry = { at: Infinity, afterMs: 1_000 };
    const look = async (): Promise<number> => {
      const started = Date.now();
      const info = run.describe({
        host: name,
        ...(target ? { target: target.target, sshControlDir: (transport as SshTransport).controlDir } : {}),
        profileFile,
        reportsDir,
        console: { format: 'plain', quiet: true },
      });
      ({ report } = await runSuites(info, join(run.suitesDir, String(started)), suites));
      if (!report) return 2;
      const next = boardOf(report, wasDone);
      const at = new Date();
      for (const change of stateChanges(board, next))
        appendFileSync(
          log,
          `${JSON.stringify({ time: at.toISOString(), check: change.id, from: change.from, to: change.to })}\n`,
        );
      const meta = { host: name, at, tookMs: Date.now() - started, columns: process.stdout.columns };
      if (tty) {
        const lines = renderScreen(next, { ...meta, watching: true }, style);
        drawn = redraw(lines, drawn);
      } else if (opts.once) {
        process.stdout.write(`${renderScreen(next, { ...meta, watching: false }, style).join('\n')}\n`);
      } else {
        for (const line of changeLines(board, next, at)) process.stdout.write(`${line}\n`);
      }
      board = next;
      if (report.checks.some((c) => c.state === 'error')) {
        retry.at = Date.now() + retry.afterMs;
        retry.afterMs = Math.min(retry.afterMs * 2, 30_000);
      } else Object.assign(retry, { at: Infinity, afterMs: 1_000 });
      return report.checks.some((c) => c.state === 'failed' || c.state === 'error') ? 1 : 0;
    };
    // locally, a write in one of the lesson's folders wakes the coach at once; over ssh, the
    // host's fingerprint streamed (its baseline taken before the first look) wakes it
    let wake: (() => void) | undefined;
    if (target && !opts.once) {
      stream = new FingerprintStream(transport as SshTransport, profile, () => wake?.());
      await stream.start();
    }
    let seen = stream?.live ? '' : await fingerprint(host, profile);
    const code = await look();
    if (opts.once || signals.signalled()) return signals.signalled() ? signals.exitCode() : code;
    if (!target)
      for (const dir of new Set(watchedPaths(profile).flatMap((p) => [dirname(p), ...(isDir(p) ? [p] : [])])))
        if (existsSync(dir))
          try {
            watchers.push(watch(dir, () => wake?.()));
          } catch {
            // a folder that cannot be watched is still compared at each poll
          }
    while (!stop.signal.aborted) {
      await new Promise<void>((done) => {
        const timer = setTimeout(done, target ? POLL_MS.ssh : POLL_MS.local);
        wake = () => {
          clearTimeout(timer);
          done();
        };
        stop.signal.addEventListener('abort', wake, { once: true });
      });
      if (wake) stop.signal.removeEventListener('abort', wake);
      wake = undefined;
      if (stop.signal.aborted) break;
      let changed: boolean;
      if (stream?.live) changed = stream.takeChange();
      else {
        const now = await fingerprint(host, profile);
        // the fingerprints' commands are not a check's: nothing keeps their transcript
        host.takeTranscript();
        changed = now !== seen;
        seen = now;
      }
      if (!changed && Date.now() < retry.at) continue;
      await look();
    }
    return signals.exitCode();
  } finally {
    stream?.stop();
    for (const w of watchers) w.close();
    await run.end(profile, {
      probesCutShort: probesCutShort(report, signals.signalled()),
      before: async () => (target ? (transport as SshTransport).close() : undefined),
    });
    signals.release();
  }
}
