/**
 * The vitest side of reporting: turns vitest's results (and the check meta each test left) into
 * a RunReport and writes every report into LC_REPORTS_DIR. Any catalogue check that
 * never reported (its file failed to load, the run was interrupted) appears as an error.
 */
import type { Reporter, TestCase, TestModule, TestRunEndReason } from 'vitest/node';
import { CATALOGUE } from '../catalogue.ts';
import { loadProfile } from '../profile.ts';
import { readRunInfo } from '../run.ts';
import { lastRun, tryWriteReports } from './write.ts';
import { loadJUnitBuilder } from './junit.ts';
import { mark } from '../timing.ts';
import { type CheckResult, type RunReport, gradeOf, unrunCheck } from './model.ts';

export default class LessonReporter implements Reporter {
  private started = Date.now();

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
    const runDir = process.env.LC_RUN_DIR;
    const reportsDir = process.env.LC_REPORTS_DIR;
    if (!runDir || !reportsDir) return;
    const info = readRunInfo(runDir);
    const profile = loadProfile(info.profileFile);
    const seen = new Map<string, CheckResult>();
    for (const m of modules)
      for (const t of m.children.allTests()) {
        const r = toResult(t, reason === 'interrupted');
        seen.set(r.id, r);
      }
    // --only: the checks left out are not part of this run's report
    const only = process.env.LC_ONLY ? process.env.LC_ONLY.split(',') : undefined;
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
    lastRun.report = report;
    lastRun.writeError = await tryWriteReports([report], reportsDir);
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
