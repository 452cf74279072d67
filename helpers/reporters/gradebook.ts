/** The gradebook: one CSV row per host (RFC 4180 quoting), for a spreadsheet or an LMS import. */
import { type RunReport, countStates, failures, gradeOf } from './model.ts';

export function renderGradebook(reports: RunReport[]): string {
  const rows = [
    ['host', 'score', 'max_score', 'percent', 'passed', 'failed', 'errors', 'skipped', 'first_failing_check'],
  ];
  for (const r of reports) {
    const g = r.grade ?? gradeOf(r.checks);
    const n = countStates(r.checks);
    const [first] = failures(r.checks);
    rows.push([
      r.host,
      String(g.score),
      String(g.maxScore),
      String(g.percent),
      String(n.passed),
      String(n.failed),
      String(n.error),
      String(n.skipped),
      first ? `${first.id} ${first.cause ?? ''}`.trim() : '',
    ]);
  }
  return `${rows.map((row) => row.map(csvField).join(',')).join('\r\n')}\r\n`;
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
