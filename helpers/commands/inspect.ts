/**
 * `lesson-check verify` and `grade`: inspect a finished host without changing it. Everything the
 * run makes lives in its own containerd namespace `lc-<run id>` and is removed at the end,
 * whatever happened; a record in /run says the run is here until then. With --target or
 * --inventory, the hosts of a class instead (commands/fleet.ts).
 */
import { resolve } from 'node:path';
import { Host } from '../host/host.ts';
import { lessonProfile, loadProfile, profileFileFor } from '../profile.ts';
import type { RunReport } from '../reporters/model.ts';
import type { Mode } from '../run/run.ts';
import { foreignRecordsNote } from '../run/run-records.ts';
import { HostRun } from '../suite-run/lifecycle.ts';
import { probesCutShort } from '../run/run-traces.ts';
import { runSuites } from '../suite-run/runner.ts';
import type { SuiteControl } from '../suite-run/suite-runner.ts';
import { trapSignals } from '../run/signals.ts';
import { LocalTransport } from '../host/transport.ts';
import { listChecks } from './list.ts';
import { summarize } from './end-of-run.ts';
import { FLEET, fleetCommand, fleetOptionsWithoutHosts } from './fleet.ts';
import {
  CONSOLE,
  ONLY,
  PROFILE,
  REPORTS,
  UsageError,
  consoleOptions,
  noPositionals,
  parseOnly,
  parseOptions,
} from './options.ts';
import { CHECK_EXITS, ENV, declareCommand } from './usage.ts';

const INSPECT_OPTIONS = {
  ...PROFILE,
  ...ONLY,
  ...REPORTS,
  ...CONSOLE,
  list: { type: 'boolean', default: false, help: 'list the checks (ID, stage, title); --format json or markdown too' },
  ...FLEET,
} as const;

/** Every form of verify's and grade's command line. */
function inspectSynopsis(mode: Mode): string[] {
  return [
    `${mode} [--profile lesson|FILE] [--only ID,ID] [--reports DIR] [--format pretty|plain|json] [--quiet] [--verbose]`,
    `${mode} --target URL … | --inventory PATH [--limit PATTERN] [--parallel N] [--host-timeout S] ` +
      '[--shard i/n] [--watch] [--inventory-reader R] [--vault-password-file FILE] [those above]',
    `${mode} --list [--format pretty|plain|json|markdown]`,
  ];
}

const INSPECT_ENV = [ENV.ssh, ENV.sshRunner, ENV.console, ENV.stepSummary];

const CLASS_EXITS = '; a class: 1 when a check failed on any host, 2 when none could be reached';

export const VERIFY_COMMAND = declareCommand({
  name: 'verify',
  synopsis: inspectSynopsis('verify'),
  about:
    'Checks a host the lesson was walked on, as the lesson left it, changing nothing: what a check makes ' +
    "(a pull, a probe container) lives in the run's own containerd namespace, removed at the end whatever " +
    "happened. This host, or with --target or --inventory a class's hosts over ssh, several at once.",
  options: INSPECT_OPTIONS,
  writes:
    'in --reports DIR: junit.xml, results.json, summary.md, report.html (a class: gradebook.csv too); ' +
    'with --format json, results.json on stdout',
  exits: CHECK_EXITS + CLASS_EXITS,
  env: INSPECT_ENV,
});

export const GRADE_COMMAND = declareCommand({
  name: 'grade',
  synopsis: inspectSynopsis('grade'),
  about:
    "verify, and a grade: each check's weight counted into a score, and for each failure a hint that points at " +
    'the lesson section to read again. One host, or a class (--target, --inventory): several hosts at once over ' +
    'ssh, then one gradebook; --watch keeps the class board live until Ctrl-C.',
  options: INSPECT_OPTIONS,
  writes:
    'in --reports DIR: grade.json, junit.xml, results.json, summary.md, report.html (a class: gradebook.csv ' +
    'too); with --format json, results.json on stdout',
  exits: CHECK_EXITS + CLASS_EXITS,
  env: INSPECT_ENV,
});

export async function inspectCommand(mode: Extract<Mode, 'verify' | 'grade'>, args: string[]): Promise<number> {
  const { values: opts, positionals } = parseOptions(mode === 'verify' ? VERIFY_COMMAND : GRADE_COMMAND, args);
  noPositionals(mode, positionals);
  if (opts.list) {
    await listChecks(opts.format);
    return 0;
  }
  const out = consoleOptions(opts);
  const only = parseOnly(opts.only);
  if (opts.target.length || opts.inventory) return await fleetCommand(mode, opts, out, only);
  const stray = fleetOptionsWithoutHosts(opts);
  if (stray) throw new UsageError(`${stray} goes with --inventory or --target (the hosts of a class)`);
  const profileArg = opts.profile;
  // read the profile before anything is made: a bad one exits 2 and leaves nothing behind
  const profile = profileArg === 'lesson' ? lessonProfile() : loadProfile(profileArg);
  const reportsDir = resolve(opts.reports);
  const host = new Host(new LocalTransport());
  const run = new HostRun(host, mode);
  const profileFile = profileFileFor(profileArg, run.dir);
  const suites: SuiteControl = {};
  const signals = trapSignals((sig) => {
    console.error(`\nlesson-check: ${sig} received: stopping and removing this run's probes`);
    suites.stop?.(sig);
  });
  let report: RunReport | undefined;
  try {
    const found = await run.begin(profile);
    for (const dead of found.cleaned)
      out.info(
        `lesson-check: removed what run ${dead.runId} (${dead.mode}, PID ${dead.pid}, started ${dead.startedAt}) ` +
          'left here: it ended without cleaning up',
      );
    const foreign = foreignRecordsNote(found.foreign);
    if (foreign) out.info(`lesson-check: ${foreign}`);
    const info = run.describe({
      host: 'local',
      profileFile: resolve(profileFile),
      only,
      reportsDir,
      console: { format: out.format, quiet: out.quiet },
    });
    let writeError: string | undefined;
    ({ report, writeError } = await runSuites(info, run.suitesDir, suites));
    if (signals.signalled()) return signals.exitCode();
    return summarize(report, reportsDir, out, writeError);
  } finally {
    // the run's own containerd namespace (pulls, probe containers), whatever happened; with
    // containerd down the namespace stays: so does the record, for the next run to finish
    await run.end(profile, { probesCutShort: probesCutShort(report, signals.signalled()) });
    signals.release();
  }
}
