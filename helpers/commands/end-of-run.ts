/** The end of a run on the console, shared by the commands that run the suites on one host. */
import { join } from 'node:path';
import { safeJson, visible } from '../host/host-text.ts';
import { consoleStyle, renderGradeTable, renderSummary } from '../reporters/console.ts';
import { type RunReport, exitCodeOf } from '../reporters/model.ts';
import { renderClassTable } from '../reporters/gradebook.ts';
import { GRADEBOOK, GRADE_FILE, REPORT_FILES } from '../reporters/write.ts';
import type { ConsoleOptions } from '../run/run.ts';

/** The summary table and failures (or the JSON document alone), and the exit code: 0 all passed,
 * 1 checks failed, 2 when the run wrote no results or its reports could not be written. */
export function summarize(
  report: RunReport | undefined,
  reportsDir: string,
  out: ConsoleOptions,
  writeError?: string,
): number {
  if (!report) {
    console.error(`lesson-check: the run wrote no results to ${reportsDir}`);
    return 2;
  }
  if (writeError) {
    // the results on the console all the same, then the one line that says what was not written
    console.log(renderSummary(report, consoleStyle(process.stdout, out.format === 'json' ? 'plain' : out.format)));
    console.error(visible(`lesson-check: ${writeError}`));
    return 2;
  }
  if (out.format === 'json') process.stdout.write(`${safeJson(report)}\n`);
  else {
    if (report.grade) console.log(renderGradeTable(report));
    console.log(renderSummary(report, consoleStyle(process.stdout, out.format)));
    const files = [...Object.values(REPORT_FILES), ...(report.grade ? [GRADE_FILE] : [])];
    console.log(`reports: ${files.map((f) => join(reportsDir, f)).join(', ')}`);
  }
  return exitCodeOf([report]);
}

/** The end of a class (a fleet, a merge) on the console: a row per host, and where the reports are. */
export function summarizeClass(reports: RunReport[], reportsDir: string): void {
  console.log(`\n${renderClassTable(reports)}`);
  console.log(`\nreports: ${[...Object.values(REPORT_FILES), GRADEBOOK].map((f) => join(reportsDir, f)).join(', ')}`);
}
