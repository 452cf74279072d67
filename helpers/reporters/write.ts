/** Writes every report of a run into one folder (and the Markdown to $GITHUB_STEP_SUMMARY). */
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { safeJson } from '../host/host-text.ts';
import { renderHtml } from './html.ts';
import { renderJUnit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { type RunReport, gradeRows } from './model.ts';
import { renderGradebook } from './gradebook.ts';

export const REPORT_FILES = { junit: 'junit.xml', json: 'results.json', markdown: 'summary.md', html: 'report.html' };
export const GRADEBOOK = 'gradebook.csv';
export const GRADE_FILE = 'grade.json';

/** writeReports, but a report that cannot be written is said in one line, not thrown. */
export async function tryWriteReports(reports: RunReport[], dir: string, live?: LivePage): Promise<string | undefined> {
  try {
    await writeReports(reports, dir, live);
    return undefined;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = `${err.path ? `${err.path}: ` : ''}${err.code ?? ''} ${err.message.replace(/^\w+: /, '')}`;
    return `the reports could not be written to ${dir}: ${why}`.replace(/\s+/g, ' ').trim();
  }
}

/** A class being watched: report.html reloads itself (see renderHtml). */
export type LivePage = { refreshSeconds: number; at: string };

export async function writeReports(reports: RunReport[], dir: string, live?: LivePage): Promise<void> {
  mkdirSync(dir, { recursive: true });
  // one host: the run's document itself; several: one document holding each host's
  const json = reports.length === 1 ? reports[0] : { runs: reports };
  writeReportFile(dir, REPORT_FILES.json, `${safeJson(json)}\n`);
  writeReportFile(dir, REPORT_FILES.junit, await renderJUnit(reports));
  const markdown = renderMarkdown(reports);
  writeReportFile(dir, REPORT_FILES.markdown, markdown);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, markdown);
  writeReportFile(dir, REPORT_FILES.html, renderHtml(reports, live));
  const [only] = reports;
  if (reports.length === 1 && only?.grade) {
    const { host, profile, grade } = only;
    const doc = { host, profile, ...grade, checks: gradeRows(only) };
    writeReportFile(dir, GRADE_FILE, `${safeJson(doc)}\n`);
  }
  // a class: the gradebook too
  if (reports.length > 1 || reports[0]?.grade) writeReportFile(dir, GRADEBOOK, renderGradebook(reports));
}

/** Writes `name` in `dir` without following a link put there (a shared or pre-seeded reports
 * folder): a new file of a random name, created exclusively (so never an existing file or link),
 * is renamed over `name`, and a rename replaces a link itself, not the file it points at. */
function writeReportFile(dir: string, name: string, content: string): void {
  const temp = join(dir, `.${name}.${randomBytes(8).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx');
  try {
    try {
      writeFileSync(fd, content);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, join(dir, name));
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}

/** The runs in a results.json: one host's document, or `{ runs: [...] }`. */
export function runsOf(doc: unknown): RunReport[] {
  if (doc && typeof doc === 'object' && Array.isArray((doc as { runs?: unknown }).runs))
    return (doc as { runs: RunReport[] }).runs;
  if (doc && typeof doc === 'object' && Array.isArray((doc as { checks?: unknown }).checks)) return [doc as RunReport];
  throw new Error('not a lesson-check results document (no checks, no runs)');
}
