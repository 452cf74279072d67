/**
 * JUnit XML, valid against the Jenkins JUnit schema (junit-4.xsd): one <testsuites> root, a
 * <testsuite> per host and stage with the run's <properties>; a failure (the host is wrong) kept
 * apart from an error (the check could not run), each saying expected, observed and hint; skipped
 * cases with their reason; the command transcript in <system-out>. Any command output survives:
 * control characters are shown escaped, invalid UTF-8 arrives as U+FFFD.
 */
import type { Builder, TestCase } from 'junit-report-builder';
import type { XMLElement } from 'xmlbuilder';
import type { TranscriptEntry } from '../host/host.ts';
import { type CheckResult, type RunReport, byStage, gradeHint } from './model.ts';
import { firstLine, visible } from '../host/host-text.ts';

let junit: Promise<Builder> | undefined;

/** junit-report-builder (with lodash and xmlbuilder) is most of the CLI's code: it is loaded when
 * first needed, or ahead, while the checks run (the vitest reporter asks at the run's start). */
export function loadJUnitBuilder(): Promise<Builder> {
  // a CommonJS module: Node hands over the builder itself, TypeScript's types see it under .default
  junit ??= import('junit-report-builder').then(
    (m) => ((m as unknown as { default?: Builder }).default ?? m) as unknown as Builder,
  );
  return junit;
}

export async function renderJUnit(reports: RunReport[]): Promise<string> {
  const builder = (await loadJUnitBuilder())
    .newBuilder()
    .name(`lesson-check ${[...new Set(reports.map((r) => r.mode))].join(', ')}`);
  for (const report of reports) {
    for (const { stage, checks, durationMs } of byStage(report.checks)) {
      const suite = builder
        .testSuite()
        .name(clean(`${report.host} ${stage}`))
        .timestamp(new Date(report.startedAt));
      suite.time(durationMs / 1000);
      suite
        .property('host', clean(report.host))
        .property('profile', clean(report.profile))
        .property('mode', report.mode)
        .property('source', clean(report.source));
      suite.property('stand-in images', String(report.standInImages));
      if (report.inventory) suite.property('inventory', clean(report.inventory));
      for (const [name, version] of Object.entries(report.versions)) suite.property(`version.${name}`, clean(version));
      for (const [i, note] of report.notes.entries()) suite.property(`note.${i + 1}`, clean(note));
      if (report.grade)
        suite.property('score', `${report.grade.score}/${report.grade.maxScore} (${report.grade.percent}%)`);
      // a grade's failures point at the lesson, never at the fix
      for (const check of checks)
        addCase(
          suite.testCase(),
          report.grade ? { ...check, hint: gradeHint(check) } : check,
          `lesson-check.${report.host}.${stage.replace(/\s+/g, '-')}`,
        );
    }
  }
  // junit-report-builder counts skipped cases on the root too; junit-4.xsd has no such attribute
  return builder.build().replace(/^(<testsuites\b[^>]*?) skipped="\d+"/m, '$1');
}

function addCase(tc: TestCase, check: CheckResult, className: string): void {
  tc.className(clean(className))
    .name(clean(check.title))
    .time(check.durationMs / 1000);
  const details = clean(
    `expected: ${check.expected ?? ''}\nobserved: ${check.observed ?? ''}\nhint: ${check.hint ?? ''}`,
  );
  if (check.state === 'failed')
    tc.failure(
      clean(`${check.id}: ${firstLine(check.cause ?? check.observed ?? 'failed')}`),
      'CheckFailure',
    ).stacktrace(details);
  if (check.state === 'error')
    tc.error(clean(`${check.id}: ${firstLine(check.observed ?? 'could not run')}`), 'CheckError', details);
  if (check.state === 'skipped') {
    tc.skipped();
    // junit-report-builder writes a bare <skipped/>; junit-4.xsd gives <skipped> text content and no
    // attributes, and consumers (Jenkins among them) show that text as the reason
    const build = tc.build.bind(tc);
    tc.build = (parent: XMLElement) => {
      const el = build(parent);
      const skipped = (el as unknown as { children: Array<{ name?: string; txt: (t: string) => void }> }).children.find(
        (c) => c.name === 'skipped',
      );
      skipped?.txt(clean(check.skipReason ?? 'skipped'));
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
      const streams = [
        e.stdout.trimEnd() && `--- stdout\n${e.stdout.trimEnd()}`,
        e.stderr.trimEnd() && `--- stderr\n${e.stderr.trimEnd()}`,
      ].filter(Boolean);
      return [`$ ${e.command}  # ${e.outcome}`, ...streams].join('\n');
    })
    .join('\n');
}

/** Text safe inside XML 1.0 and CDATA: host text made visible (host-text.ts: control characters
 * as \xNN, lone surrogates as U+FFFD), the two non-characters XML forbids too, and no CDATA
 * terminator. */
export function clean(s: string): string {
  return visible(s)
    .replace(/[\uFFFE\uFFFF]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`)
    .replace(/]]>/g, ']] >');
}
