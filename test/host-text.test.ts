// Host text leaves the program as text: the rule (helpers/host/host-text.ts) on the bytes a hostile
// host prints, each outlet's renderer on a report that carries them, and report folders that
// stay where they belong. The whole path, through ssh and grade, is in hostile-hosts.test.ts.
import { describe, expect, test } from 'vitest';
import { clip, csvField, reportFolderName, safeJson, visible, visibleLine } from '../helpers/host/host-text.ts';
import { consoleStyle, renderGradeTable, renderSummary } from '../helpers/reporters/console.ts';
import { renderClassTable, renderGradebook } from '../helpers/reporters/gradebook.ts';
import { renderHtml } from '../helpers/reporters/html.ts';
import { renderJUnit } from '../helpers/reporters/junit.ts';
import { renderMarkdown } from '../helpers/reporters/markdown.ts';
import { type RunReport, gradeOf } from '../helpers/reporters/model.ts';

/** The reproduction: clear the screen, draw a green "all passed", write the clipboard. */
const SPOOF = 'boom\u001b[2J\u001b[H\u001b[32m  ✓ all checks passed\u001b[0m\n\u001b]52;c;ZXZpbA==\u0007\n';
/** C1 CSI (U+009B), a right-to-left override, CR, NUL, DEL, a line separator. */
const MORE = 'a\u009b31mb \u202eevil\u202c c\rd\u0000e\u007ff\u2028g';
/** Every code point that must not leave the program raw. */
/* eslint-disable no-control-regex -- control characters are the point of these tests */
const FORBIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069\u2028\u2029]/;

describe('the rule for host text', () => {
  test('controls but newline and tab become visible escapes; the text stays', () => {
    expect(visible(SPOOF)).toBe(
      'boom\\x1b[2J\\x1b[H\\x1b[32m  ✓ all checks passed\\x1b[0m\n\\x1b]52;c;ZXZpbA==\\x07\n',
    );
    expect(visible(MORE)).toBe('a\\x9b31mb \\u{202e}evil\\u{202c} c\\rd\\x00e\\x7ff\\u{2028}g');
    expect(visible('tab\there\nnext')).toBe('tab\there\nnext');
    expect(visibleLine('tab\there\nnext')).toBe('tab\\there\\nnext');
    expect(visible('lone \ud800 surrogate')).toBe('lone \ufffd surrogate');
    expect(FORBIDDEN.test(visibleLine(SPOOF + MORE))).toBe(false);
  });

  test('clip says how much it left out', () => {
    expect(clip('abcdef', 3)).toBe('abc… (3 characters more)');
    expect(clip('abc', 3)).toBe('abc');
  });

  test('JSON: no control character in its bytes, and the same value back', () => {
    const value = { observed: SPOOF + MORE };
    const text = safeJson(value);
    expect(FORBIDDEN.test(text.replace(/\n/g, ''))).toBe(false);
    expect(JSON.parse(text)).toEqual(value);
  });

  test('CSV: a formula is never one (OWASP), whatever the column; quoting as RFC 4180', () => {
    expect(csvField('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    for (const lead of ['+', '-', '@']) expect(csvField(`${lead}1`)).toBe(`'${lead}1`);
    expect(csvField('\t=1')).toBe('\\t=1');
    expect(csvField('\r=1')).toBe('\\r=1');
    expect(csvField('student-a')).toBe('student-a');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField(`x${SPOOF}`)).not.toMatch(FORBIDDEN);
  });

  test('report folders: never a path out of hosts/, never shared by two hosts', () => {
    expect(reportFolderName('student-a')).toBe('student-a');
    for (const evil of ['../../x', '/etc/passwd', 'a/b', '..', '.', '', 'x\u0000y', 'é'])
      expect(reportFolderName(evil)).toMatch(/^[\w@+][\w.@+-]*$/);
    const names = ['Student-A', 'student-a', 'a/b', 'a_b'];
    const folders = names.map((n) => reportFolderName(n, names));
    expect(new Set(folders.map((f) => f.toLowerCase())).size).toBe(names.length);
    // the same name always gets the same folder (shards merge by name)
    expect(reportFolderName('a/b', names)).toBe(reportFolderName('a/b', ['a/b']));
  });
});

describe('every outlet shows host text as text', () => {
  const hostile = `${SPOOF}${MORE}`;
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
      observed: `\`runc --version\` → exit 3 after 2 ms:\n${hostile}`,
      hint: `look at ${hostile}`,
      cause: `runc says ${hostile}`,
      transcript: [
        { command: 'runc --version', outcome: 'exit 3', exitCode: 3, durationMs: 2, stdout: hostile, stderr: hostile },
      ],
    },
    {
      id: 'R6',
      title: 'R6 ctr run works',
      stage: '20 runc',
      section: 'Install runc',
      weight: 1,
      state: 'skipped' as const,
      durationMs: 0,
      skipReason: `blocked by R2: ${hostile}`,
      skipKind: 'blocked' as const,
      transcript: [],
    },
  ];
  const report: RunReport = {
    runId: 'abc123',
    host: `=cmd|' /C calc'!A0${MORE}`,
    profile: `p${MORE}`,
    mode: 'grade',
    source: 'go',
    versions: { runc: hostile },
    standInImages: false,
    notes: [hostile],
    startedAt: new Date(0).toISOString(),
    durationMs: 10,
    checks,
    grade: gradeOf(checks),
  };

  test('console (summary, grade table, class table): no raw control; our colours stay', () => {
    const coloured = renderSummary(report, { color: true, unicode: true });
    // our own colours are SGR sequences we wrote: take them out, then nothing else may be there
    expect(coloured.replace(/\u001b\[\d+m/g, '')).not.toMatch(/[\u001b\u0007\u009b\u202e]/);
    expect(coloured).toContain('\u001b[31m');
    expect(coloured).toContain('\\x1b[2J');
    expect(renderSummary(report, consoleStyle(process.stdout, 'plain'))).not.toMatch(/\u001b/);
    expect(renderGradeTable(report).replace(/\n/g, '')).not.toMatch(FORBIDDEN);
    expect(renderClassTable([report]).replace(/\n/g, '')).not.toMatch(FORBIDDEN);
  });

  test('Markdown, CSV, HTML, JUnit: no raw control; the text is there, visible', async () => {
    for (const [name, text] of [
      ['summary.md', renderMarkdown([report])],
      ['gradebook.csv', renderGradebook([report])],
      ['report.html', renderHtml([report])],
      ['junit.xml', await renderJUnit([report])],
    ] as const) {
      expect(text.replace(/[\n\r\t]/g, ''), name).not.toMatch(FORBIDDEN);
      expect(text, name).toContain('all checks passed');
      expect(text, name).toMatch(/\\x1b|\\\\x1b/);
    }
    // the gradebook's host cell cannot be a formula
    const row = renderGradebook([report]).split('\r\n')[1]!;
    expect(row.startsWith("'=cmd")).toBe(true);
  });
});
