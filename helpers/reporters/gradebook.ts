/** The gradebook: one row per host, as CSV (RFC 4180 quoting, no cell a spreadsheet evaluates)
 * for a spreadsheet or an LMS import, and as the table the console shows at the end of a class. */
import { csvField, visibleLine } from '../host/host-text.ts';
import { type RunReport, countStates, failures, gradeOf } from './model.ts';

interface GradebookRow {
  host: string;
  score: number;
  maxScore: number;
  percent: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  firstFailing: string;
}

function gradebookRows(reports: RunReport[]): GradebookRow[] {
  return reports.map((r) => {
    const g = r.grade ?? gradeOf(r.checks);
    const n = countStates(r.checks);
    const [first] = failures(r.checks);
    const firstFailing = first ? `${first.id} ${first.cause ?? ''}`.trim() : '';
    return {
      host: r.host,
      ...g,
      passed: n.passed,
      failed: n.failed,
      errors: n.error,
      skipped: n.skipped,
      firstFailing,
    };
  });
}

export function renderGradebook(reports: RunReport[]): string {
  const rows = [
    ['host', 'score', 'max_score', 'percent', 'passed', 'failed', 'errors', 'skipped', 'first_failing_check'],
    ...gradebookRows(reports).map((r) => [
      r.host,
      ...[r.score, r.maxScore, r.percent, r.passed, r.failed, r.errors, r.skipped].map(String),
      r.firstFailing,
    ]),
  ];
  return `${rows.map((row) => row.map(csvField).join(',')).join('\r\n')}\r\n`;
}

/** The class on the console: a row per host. */
export function renderClassTable(reports: RunReport[]): string {
  const lines = [' host                 score    passed  failed  errors  skipped  first failing check'];
  for (const r of gradebookRows(reports)) {
    const counts = [r.passed, r.failed, r.errors].map((n) => String(n).padStart(6)).join('  ');
    const score = `${r.percent}%`.padStart(6);
    const [host, first] = [visibleLine(r.host), visibleLine(r.firstFailing)];
    lines.push(` ${host.padEnd(20)} ${score}  ${counts}  ${String(r.skipped).padStart(7)}  ${first}`);
  }
  return lines.join('\n');
}
