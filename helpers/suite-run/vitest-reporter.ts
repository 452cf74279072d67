/**
 * The vitest side of reporting: turns vitest's results (and the check meta each test left) into
 * a RunReport, writes every report into the run's reports folder and hands the report over to
 * the command that started the run in this process. Any catalogue check that never reported
 * (its file failed to load, the run was interrupted) appears as an error.
 */
import type { Reporter, TestCase, TestModule, TestRunEndReason } from 'vitest/node';
import { CATALOGUE } from '../checks/catalogue.ts';
import { loadProfile } from '../profile.ts';
import { type RunInfo, currentRunInfo } from '../run/run.ts';
import { tryWriteReports } from '../reporters/write.ts';
import { loadJUnitBuilder } from '../reporters/junit.ts';
import { mark } from '../util/timing.ts';
import { type CheckResult, type RunReport, gradeOf, unrunCheck } from '../reporters/model.ts';

/** What the reporter hands over to the command that started the run in this process. */
export interface Handover {
  report: RunReport;
  /** Why the reports could not be written (their folder not writable, the disk full). */
  writeError?: string;
}

export default class LessonReporter implements Reporter {
  private started = Date.now();

  private readonly info: RunInfo | undefined;
  private readonly handover: ((h: Handover) => void) | undefined;

  /** `info` absent: vitest run directly on suites/ (vitest.config.ts, which passes its reporter
   * options), with its run's if any (without a run, as `verify --list` collects the checks,
   * there is nothing to report). */
  constructor({ info = currentRunInfo(), handover }: { info?: RunInfo; handover?: (h: Handover) => void } = {}) {
    this.info = info;
    this.handover = handover;
  }

  onInit(): void {
    mark('vitest: initialised');
  }

  onTestRunStart(): void {
    mark('vitest: run start');
    // load it now, while the checks run in the worker, rather than after them
    void loadJUnitBuilder();
    this.started = Date.now();
  }

  async onTestRunEnd(modules: ReadonlyArray<TestModule>, _errors: unknown, reason: TestRunEndReason): Promise<void> {
    const info = this.info;
    if (!info) return;
    const profile = loadProfile(info.profileFile);
    const seen = new Map<string, CheckResult>();
    for (const m of modules)
      for (const t of m.children.allTests()) {
        const r = toResult(t, reason === 'interrupted');
        seen.set(r.id, r);
      }
    // --only: the checks left out are not part of this run's report
    const only = info.only;
    const checks = CATALOGUE.filter(({ id }) => !only || only.includes(id)).map(
      (entry) =>
        seen.get(entry.id) ??
        unrunCheck(entry, {
          expected: 'the check runs',
          observed: 'the check did not report: its suite did not load, or the run was interrupted',
          hint: 'see the console output of the run',
        }),
    );
    const report: RunReport = {
      runId: info.runId,
      host: info.host ?? 'local',
      profile: profile.name,
      mode: info.mode,
      source: profile.provenance.source,
      versions: { ...profile.versions, ...(profile.provenance.podinfo ? { podinfo: profile.provenance.podinfo } : {}) },
      standInImages: profile.provenance.standInImages,
      notes: profile.provenance.notes,
      startedAt: info.startedAt,
      durationMs: Date.now() - this.started,
      checks,
      ...(info.mode === 'grade' ? { grade: gradeOf(checks) } : {}),
      ...(info.setup ? { setup: info.setup } : {}),
    };
    mark('vitest: run end');
    const writeError = await tryWriteReports([report], info.reportsDir);
    this.handover?.({ report, writeError });
    mark('vitest: reports written');
  }
}

function toResult(t: TestCase, interrupted: boolean): CheckResult {
  const meta = t.meta().check;
  const result = t.result();
  const id = meta?.id ?? t.name.split(' ')[0] ?? t.name;
  const base = {
    id,
    title: t.name,
    stage: meta?.stage ?? t.module.moduleId,
    section: meta?.section ?? '',
    weight: meta?.weight ?? 1,
    durationMs: meta?.durationMs ?? Math.round(t.diagnostic()?.duration ?? 0),
    transcript: meta?.transcript ?? [],
  };
  if (result.state === 'passed') return { ...base, state: 'passed' };
  // Ctrl-C: vitest marks the checks it had not started as skipped; they did not run at all
  if (interrupted && !meta && result.state === 'skipped')
    return {
      ...base,
      state: 'error',
      expected: 'the check runs',
      observed: 'the run was interrupted before this check started',
      hint: 'run again',
    };
  if (result.state === 'skipped')
    return {
      ...base,
      state: 'skipped',
      skipReason: meta?.skipReason ?? result.note ?? 'skipped',
      skipKind: meta?.skipKind,
    };
  if (result.state === 'pending')
    return {
      ...base,
      state: 'error',
      expected: 'the check runs',
      observed: 'the check never finished (the run was interrupted)',
      hint: 'run again',
    };
  if (meta?.kind)
    return {
      ...base,
      state: meta.kind === 'failure' ? 'failed' : 'error',
      expected: meta.expected,
      observed: meta.observed,
      hint: meta.hint,
      cause: meta.cause,
    };
  const message = result.errors?.[0]?.message ?? 'unknown error';
  return {
    ...base,
    state: 'error',
    expected: 'the check runs to completion',
    observed: message,
    hint: /timed out/i.test(message)
      ? 'the check exceeded its time limit; its commands were cancelled'
      : 'see the console output',
  };
}
