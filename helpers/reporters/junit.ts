/**
 * JUnit XML: a <testsuite> per stage with the run's <properties>; a failure (the host is wrong)
 * and an error (the check could not run) kept apart, each saying expected, observed and hint;
 * skipped cases with their reason; the command transcript in <system-out>.
 */
import junitModule, { type Builder, type TestCase } from 'junit-report-builder';
import type { XMLElement } from 'xmlbuilder';
import type { TranscriptEntry } from '../host.ts';
import { type CheckResult, type RunReport, gradeHint } from './model.ts';

// a CommonJS module: Node hands over the builder itself, TypeScript's types see it under .default
const junit = ((junitModule as unknown as { default?: Builder }).default ?? junitModule) as unknown as Builder;

export function renderJUnit(report: RunReport): string {
  const builder = junit.newBuilder().name(`lesson-check ${report.mode} ${report.host}`);
  const stages = [...new Set(report.checks.map((c) => c.stage))];
  for (const stage of stages) {
    const checks = report.checks.filter((c) => c.stage === stage);
    const suite = builder.testSuite().name(`${report.host} ${stage}`).timestamp(new Date(report.startedAt));
    suite.time(checks.reduce((s, c) => s + c.durationMs, 0) / 1000);
    suite.property('host', report.host).property('profile', report.profile).property('mode', report.mode).property('source', report.source);
    suite.property('stand-in images', String(report.standInImages));
    for (const [name, version] of Object.entries(report.versions)) suite.property(`version.${name}`, version);
    for (const [i, note] of report.notes.entries()) suite.property(`note.${i + 1}`, clean(note));
    if (report.grade) suite.property('score', `${report.grade.score}/${report.grade.maxScore} (${report.grade.percent}%)`);
    // a grade's failures point at the lesson, never at the fix
    for (const check of checks) addCase(suite.testCase(), report.grade ? { ...check, hint: gradeHint(check) } : check, `lesson-check.${stage.replace(/\s+/g, '-')}`);
  }
  return builder.build();
}

function addCase(tc: TestCase, check: CheckResult, className: string): void {
  tc.className(className).name(check.title).time(check.durationMs / 1000);
  const details = clean(`expected: ${check.expected ?? ''}\nobserved: ${check.observed ?? ''}\nhint: ${check.hint ?? ''}`);
  if (check.state === 'failed') tc.failure(clean(`${check.id}: ${firstLine(check.observed ?? check.expected ?? 'failed')}`), 'CheckFailure').stacktrace(details);
  if (check.state === 'error') tc.error(clean(`${check.id}: ${firstLine(check.observed ?? 'could not run')}`), 'CheckError', details);
  if (check.state === 'skipped') {
    tc.skipped();
    // junit-report-builder writes a bare <skipped/>: add the reason CI consumers display
    const build = tc.build.bind(tc);
    tc.build = (parent: XMLElement) => {
      const el = build(parent);
      const skipped = (el as unknown as { children: Array<{ name?: string; att: (k: string, v: string) => void }> }).children.find((c) => c.name === 'skipped');
      skipped?.att('message', clean(check.skipReason ?? 'skipped'));
      return el;
    };
  }
  const out = renderTranscript(check.transcript);
  if (out) tc.standardOutput(clean(out));
}

export function renderTranscript(entries: TranscriptEntry[]): string {
  return entries
    .map((e) => {
      if (!e.outcome) return e.command;
      const streams = [e.stdout.trimEnd() && `--- stdout\n${e.stdout.trimEnd()}`, e.stderr.trimEnd() && `--- stderr\n${e.stderr.trimEnd()}`].filter(Boolean);
      return [`$ ${e.command}  # ${e.outcome}`, ...streams].join('\n');
    })
    .join('\n');
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? s).slice(0, 300);
}

/** Text safe inside XML 1.0 and CDATA: no control characters, no CDATA terminator. */
export function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).replace(/[\uD800-\uDFFF]/g, '\uFFFD').replace(/]]>/g, ']] >');
}
