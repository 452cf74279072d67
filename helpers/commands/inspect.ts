/**
 * `lesson-check verify` and `grade`: inspect a finished host without changing it. Everything the
 * run makes lives in its own containerd namespace `lc-<run id>` and is removed at the end,
 * whatever happened; a record in /run says the run is here until then. With --target or
 * --inventory, the hosts of a class instead (commands/fleet.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Host } from '../host.ts';
import { lessonProfile, loadProfile, profileFileFor } from '../profile.ts';
import type { RunReport } from '../reporters/model.ts';
import type { Mode, RunInfo } from '../run.ts';
import { cleanDeadRuns, forgetRun, recordRun } from '../run-records.ts';
import { probesCutShort, removeRunTraces } from '../run-traces.ts';
import { runSuites } from '../runner.ts';
import type { SuiteControl } from '../suite-runner.ts';
import { trapSignals } from '../signals.ts';
import { mark } from '../timing.ts';
import { LocalTransport } from '../transport.ts';
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

export async function inspectCommand(mode: Extract<Mode, 'verify' | 'grade'>, args: string[]): Promise<number> {
  const { values: opts, positionals } = parseOptions(mode, args, {
    ...PROFILE,
    ...REPORTS,
    ...CONSOLE,
    ...ONLY,
    ...FLEET,
    list: { type: 'boolean', default: false },
  });
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
  const runId = randomBytes(3).toString('hex');
  const runDir = mkdtempSync(join(tmpdir(), `lesson-check-${runId}-`));
  const profileFile = profileFileFor(profileArg, runDir);
  const reportsDir = resolve(opts.reports);
  const host = new Host(new LocalTransport());
  const suites: SuiteControl = {};
  const signals = trapSignals((sig) => {
    console.error(`\nlesson-check: ${sig} received: stopping and removing this run's probes`);
    suites.stop?.(sig);
  });
  let report: RunReport | undefined;
  try {
    // what runs that were killed left here is removed while this run says it is here (a live
    // run's record is never taken for a dead one's)
    const [dead] = await Promise.all([cleanDeadRuns(host), recordRun(host, profile, runId, mode)]);
    for (const run of dead)
      out.info(
        `lesson-check: removed what run ${run.runId} (${run.mode}, PID ${run.pid}, started ${run.startedAt}) ` +
          'left here: it ended without cleaning up',
      );
    const info: RunInfo = {
      runId,
      mode,
      host: 'local',
      profileFile: resolve(profileFile),
      startedAt: new Date().toISOString(),
    };
    let writeError: string | undefined;
    ({ report, writeError } = await runSuites(info, join(runDir, 'run'), reportsDir, only, out, suites));
    if (signals.signalled()) return signals.exitCode();
    return summarize(report, reportsDir, out, writeError);
  } finally {
    // the run's own containerd namespace (pulls, probe containers), whatever happened
    mark('cli: removing run traces');
    // with containerd down the namespace stays: so does the record, for the next run to finish
    const cutShort = probesCutShort(report, signals.signalled());
    if (await removeRunTraces(host, profile, runId, { probesCutShort: cutShort })) await forgetRun(host, runId);
    mark('cli: run traces removed');
    rmSync(runDir, { recursive: true, force: true });
    signals.release();
  }
}
