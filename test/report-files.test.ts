// Issue 34: a reports folder may be shared or seeded beforehand, and a link put there in place of
// a report (summary.md → a file of someone else's) must not be written through: each report is
// written to a new file and renamed over its name, which replaces the link itself.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { renderMarkdown } from '../helpers/reporters/markdown.ts';
import { type RunReport, gradeOf } from '../helpers/reporters/model.ts';
import { GRADEBOOK, GRADE_FILE, REPORT_FILES, writeReports } from '../helpers/reporters/write.ts';

const checks = [
  {
    id: 'R2',
    title: 'R2 runc is installed',
    stage: '20 runc',
    section: 'Install runc',
    weight: 1,
    state: 'failed' as const,
    durationMs: 5,
    expected: 'runc 1.4.0',
    observed: 'missing',
    hint: 'lesson step 3',
    transcript: [],
  },
];
const report: RunReport = {
  runId: 'abc123',
  host: 'student-a',
  profile: 'lab',
  mode: 'grade',
  source: 'go',
  versions: {},
  standInImages: false,
  notes: [],
  startedAt: new Date(0).toISOString(),
  durationMs: 5,
  checks,
  grade: gradeOf(checks),
};

describe('report files are written without following a link put in their place', () => {
  test('a link at reports/summary.md: the file it points at is unchanged, summary.md a file of its own', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lc-report-files-'));
    const outside = join(root, 'outside.txt');
    writeFileSync(outside, 'not yours\n');
    const reports = join(root, 'reports');
    mkdirSync(reports);
    symlinkSync(outside, join(reports, REPORT_FILES.markdown));
    // a dangling link too: following it would create the file it names
    const nowhere = join(root, 'created-through-a-link.html');
    symlinkSync(nowhere, join(reports, REPORT_FILES.html));

    await writeReports([report], reports);

    expect(readFileSync(outside, 'utf8')).toBe('not yours\n');
    expect(existsSync(nowhere)).toBe(false);
    for (const name of [REPORT_FILES.markdown, REPORT_FILES.html]) {
      const st = lstatSync(join(reports, name));
      expect(st.isSymbolicLink(), name).toBe(false);
      expect(st.isFile(), name).toBe(true);
    }
    expect(readFileSync(join(reports, REPORT_FILES.markdown), 'utf8')).toBe(renderMarkdown([report]));
    // every report, and no temp file left behind
    expect(readdirSync(reports).sort()).toEqual([...Object.values(REPORT_FILES), GRADE_FILE, GRADEBOOK].sort());
  });

  test('written again over its own files, a report is replaced', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'lc-report-files-'));
    await writeReports([report], reports);
    await writeReports([{ ...report, host: 'student-b' }], reports);
    expect(readFileSync(join(reports, REPORT_FILES.markdown), 'utf8')).toContain('student\\-b');
    expect(readdirSync(reports)).toHaveLength(Object.values(REPORT_FILES).length + 2);
  });
});
