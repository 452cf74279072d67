import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type RunReport, exitCodeOf } from '../reporters/model.ts';
import { REPORT_FILES, runsOf, writeReports } from '../reporters/write.ts';
import { summarizeClass } from './end-of-run.ts';
import { REPORTS, UsageError, parseOptions } from './options.ts';
import { declareCommand } from './usage.ts';

export const MERGE_COMMAND = declareCommand({
  name: 'merge',
  synopsis: ['merge DIR… [--reports OUT]'],
  about:
    "Joins several runs' results.json (the shards of a class, one folder each) into one set of reports and " +
    'one gradebook, a row per host. A folder without results (its job failed before it uploaded any) is named ' +
    'and left out; one whose results cannot be read is an error.',
  options: { reports: { ...REPORTS.reports, arg: 'OUT', help: 'where the merged reports go (default: reports)' } },
  writes: 'in --reports OUT: junit.xml, results.json, summary.md, report.html, gradebook.csv',
  exits: '0 all passed, 1 checks failed, 2 usage error, no results, unreadable results or internal error',
  env: [],
});

/** `lesson-check merge`: several runs' results (shards of a class) into one set of reports. A shard
 * folder that is not there (its job failed before it uploaded anything) is named and left out;
 * one whose results cannot be read is an error. */
export async function mergeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(MERGE_COMMAND, args);
  if (positionals.length === 0)
    throw new UsageError('merge needs the report folders to join: lesson-check merge DIR… [--reports OUT]');
  const byHost = new Map<string, RunReport>();
  const missing = positionals.filter((dir) => !existsSync(join(dir, REPORT_FILES.json)));
  if (missing.length === positionals.length) {
    console.error(
      `lesson-check merge: no results to join: ${missing.map((d) => join(d, REPORT_FILES.json)).join(', ')}`,
    );
    return 2;
  }
  if (missing.length)
    console.error(
      `lesson-check merge: missing, left out: ${missing.map((d) => join(d, REPORT_FILES.json)).join(', ')}`,
    );
  for (const dir of positionals.filter((d) => !missing.includes(d))) {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(join(dir, REPORT_FILES.json), 'utf8'));
    } catch (e) {
      console.error(`lesson-check merge: ${join(dir, REPORT_FILES.json)}: ${(e as Error).message}`);
      return 2;
    }
    for (const r of runsOf(doc)) byHost.set(r.host, r);
  }
  const reports = [...byHost.values()].sort((a, b) => a.host.localeCompare(b.host));
  const reportsDir = resolve(values.reports);
  await writeReports(reports, reportsDir);
  summarizeClass(reports, reportsDir);
  return exitCodeOf(reports);
}
