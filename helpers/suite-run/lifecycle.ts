/**
 * One run of the suites against one host, from its id to its sweep: the same for verify and
 * grade on this host (commands/inspect.ts), each host of a fleet (class/fleet.ts) and the walkthrough
 * (commands/walkthrough.ts):
 *
 *   new HostRun   a run id and a private folder (its run.json, a fleet host's ssh sockets)
 *   begin         what killed runs left on the host is removed while a record says this one is
 *                 here (a live run's record is never taken for a dead one's)
 *   describe      the run description the suites read (helpers/run/run.ts), run by runner.ts
 *   end           the run's traces are removed (its namespace, probes, network objects); its
 *                 record is forgotten only once nothing is left, so that the next run finishes
 *                 what this one could not (containerd down, a host past its deadline); the folder goes
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import type { Profile } from '../profile.ts';
import { type RecordsFound, cleanDeadRuns, forgetRun, recordRun } from '../run/run-records.ts';
import { removeRunTraces } from '../run/run-traces.ts';
import type { Mode, RunInfo } from '../run/run.ts';
import { mark } from '../util/timing.ts';

export class HostRun {
  readonly id = randomBytes(3).toString('hex');
  readonly dir = mkdtempSync(join(tmpdir(), `lesson-check-${this.id}-`));
  readonly startedAt = new Date().toISOString();
  private recorded = false;

  constructor(
    readonly host: Host,
    readonly mode: Mode,
  ) {}

  /** Records the run on its host and removes what dead runs left there; returns those runs, and
   * the files of the records folder that were left alone as not lesson-check's. */
  async begin(profile: Profile): Promise<RecordsFound> {
    const [dead] = await Promise.all([
      cleanDeadRuns(this.host, this.id),
      recordRun(this.host, profile, this.id, this.mode),
    ]);
    this.recorded = true;
    return dead;
  }

  /** The run description, with this run's id, mode and start. */
  describe(facts: Omit<RunInfo, 'runId' | 'mode' | 'startedAt'>): RunInfo {
    return { runId: this.id, mode: this.mode, startedAt: this.startedAt, ...facts };
  }

  /** The folder the suites' run.json goes in. */
  get suitesDir(): string {
    return join(this.dir, 'run');
  }

  /**
   * Removes what the run made on its host, then `before` (a transport to close, what a walk set
   * aside to put back), then the run's folder, whatever fails. `probesCutShort`: whether probes
   * may have been left mid-way (a signal, a timeout), so that every kind of trace is looked for.
   * `tolerant`: a sweep that throws counts as incomplete (a graded host may refuse anything).
   */
  async end(
    profile: Profile,
    opts: { probesCutShort: boolean; tolerant?: boolean; before?: () => Promise<unknown> },
  ): Promise<void> {
    try {
      mark('cli: removing run traces');
      const sweep = removeRunTraces(this.host, profile, this.id, { probesCutShort: opts.probesCutShort });
      const complete = opts.tolerant ? await sweep.catch(() => false) : await sweep;
      mark('cli: run traces removed');
      if (complete && this.recorded) {
        const forget = forgetRun(this.host, this.id);
        await (opts.tolerant ? forget.catch(() => undefined) : forget);
      }
    } finally {
      try {
        await opts.before?.();
      } finally {
        rmSync(this.dir, { recursive: true, force: true });
      }
    }
  }
}
