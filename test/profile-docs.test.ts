// Issue 35: docs/PROFILE.md is the profile's reference, so it must name exactly the keys the code
// has: every key of the profile object (lessonProfile()'s, recursively, which is what loadProfile
// accepts), each with the type and the lesson's and the sandbox's defaults the code gives it.
// A key the page omits fails, and so does one it names that loadProfile refuses. No root.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, test } from 'vitest';
import { CATALOGUE } from '../helpers/checks/catalogue.ts';
import { type Profile, lessonProfile, loadProfile, sandboxProfile } from '../helpers/profile.ts';
import { ROOT } from '../helpers/util/root.ts';

const PAGE = join(ROOT, 'docs/PROFILE.md');
/** The prefix the page's sandbox column calls PREFIX; its last part is the page's ID. */
const SANDBOX_PREFIX = '/var/lib/lesson-check/labs/ID';

interface Row {
  key: string;
  type: string;
  lesson: string;
  sandbox: string;
  readBy: string;
  line: number;
}

/** Every key a profile file may set, by dotted path, with its value in `profile`. */
function profileKeys(profile: object, at = ''): Map<string, unknown> {
  const keys = new Map<string, unknown>();
  for (const [k, v] of Object.entries(profile) as Array<[string, unknown]>) {
    const path = at ? `${at}.${k}` : k;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) for (const e of profileKeys(v, path)) keys.set(...e);
    else keys.set(path, v);
  }
  return keys;
}

/** The type column's words for a default value. */
function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'array of strings';
  if (typeof v === 'number') return 'integer';
  return typeof v;
}

/** The key rows of the page's tables under "## Keys": | `key` | type | lesson | sandbox | what | read by |. */
function keyRows(markdown: string): { rows: Row[]; problems: string[] } {
  const lines = markdown.split('\n');
  const start = lines.indexOf('## Keys');
  if (start < 0) return { rows: [], problems: ['the page has no "## Keys" section'] };
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  const rows: Row[] = [];
  const problems: string[] = [];
  for (const [i, line] of lines.slice(start, end < 0 ? undefined : end).entries()) {
    const key = /^\|\s*`([^`]+)`\s*\|/.exec(line)?.[1];
    if (!key) continue;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const at = start + i + 1;
    if (cells.length !== 6) problems.push(`line ${at}: \`${key}\` has ${cells.length} cells, not 6`);
    else rows.push({ key, type: cells[1]!, lesson: cells[2]!, sandbox: cells[3]!, readBy: cells[5]!, line: at });
  }
  return { rows, problems };
}

/** A default cell's TOML value (`"…"`, `9898`, `[…]`), or undefined with `problems` told why. */
function cellValue(cell: string, row: Row, column: string, problems: string[]): { value: unknown } | undefined {
  const literal = /^`([^`]*)`$/.exec(cell)?.[1];
  try {
    if (literal !== undefined) return { value: parse(`v = ${literal}`).v };
  } catch {
    // said below
  }
  problems.push(`line ${row.line}: \`${row.key}\`'s ${column} default is no TOML value in backticks: ${cell}`);
  return undefined;
}

/** A TOML file setting each key to its value (dotted keys at the top: `paths.runc = "…"`). */
function tomlOf(values: Map<string, unknown>): string {
  return [...values].map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('\n');
}

/** What is wrong with the page, against the code: [] when nothing. */
function pageProblems(markdown: string): string[] {
  const { rows, problems } = keyRows(markdown);
  const lesson = profileKeys(lessonProfile());
  const sandbox = profileKeys(sandboxProfile(SANDBOX_PREFIX));
  const documented = new Map(rows.map((r) => [r.key, r]));
  for (const key of lesson.keys())
    if (!documented.has(key)) problems.push(`the page omits \`${key}\`, a key of the profile`);
  const known = new Set<string>(CATALOGUE.map((c) => c.id));
  const lessonValues = new Map<string, unknown>();
  const sandboxValues = new Map<string, unknown>();
  for (const row of rows) {
    if (rows.filter((r) => r.key === row.key).length > 1 && documented.get(row.key) !== row) {
      problems.push(`line ${row.line}: \`${row.key}\` is documented twice`);
      continue;
    }
    const inLesson = cellValue(row.lesson, row, 'lesson', problems);
    const inSandbox =
      row.sandbox === 'same'
        ? inLesson
        : cellValue(row.sandbox.replaceAll('PREFIX', SANDBOX_PREFIX), row, 'sandbox', problems);
    if (inLesson) lessonValues.set(row.key, inLesson.value);
    if (inSandbox) sandboxValues.set(row.key, inSandbox.value);
    const unknownIds = (row.readBy.match(/\b[HCRNK]\d+\b/g) ?? []).filter((id) => !known.has(id));
    if (!row.readBy || row.readBy === '—') problems.push(`line ${row.line}: \`${row.key}\` says nothing reads it`);
    if (unknownIds.length)
      problems.push(`line ${row.line}: \`${row.key}\` names no such check: ${unknownIds.join(', ')}`);
    if (!lesson.has(row.key)) {
      problems.push(`line ${row.line}: the page documents \`${row.key}\`, which the profile has not`);
      continue;
    }
    const code = lesson.get(row.key);
    if (row.type !== typeName(code))
      problems.push(`line ${row.line}: \`${row.key}\` is ${typeName(code)} in the code, ${row.type} on the page`);
    for (const [column, value, wanted] of [
      ['lesson', inLesson, code],
      ['sandbox', inSandbox, sandbox.get(row.key)],
    ] as const)
      if (value && JSON.stringify(value.value) !== JSON.stringify(wanted))
        problems.push(
          `line ${row.line}: \`${row.key}\`'s ${column} default is ${JSON.stringify(wanted)} in the code, ` +
            `${JSON.stringify(value.value)} on the page`,
        );
  }
  // and as loadProfile has it: the page's defaults, written as a profile file, load to the defaults
  const dir = mkdtempSync(join(tmpdir(), 'lc-profile-docs-'));
  for (const [name, values, wanted] of [
    ['lesson', lessonValues, lessonProfile()],
    ['sandbox', sandboxValues, sandboxProfile(SANDBOX_PREFIX)],
  ] as const) {
    const file = join(dir, `${name}.toml`);
    writeFileSync(file, tomlOf(values));
    let loaded: Profile | undefined;
    try {
      loaded = loadProfile(file);
    } catch (e) {
      problems.push(`loadProfile refuses the page's ${name} defaults: ${(e as Error).message}`);
    }
    if (loaded && JSON.stringify(loaded) !== JSON.stringify(wanted))
      problems.push(`the page's ${name} defaults load to another profile than the ${name} profile`);
  }
  return problems;
}

describe('docs/PROFILE.md', () => {
  const page = readFileSync(PAGE, 'utf8');

  test('documents every key of the profile, and no other, with its type and defaults', () => {
    expect(pageProblems(page)).toEqual([]);
  });

  test('the keys it reads are all the profile has: the top level, and each table, whole', () => {
    const keys = [...profileKeys(lessonProfile()).keys()];
    expect(keys).toContain('prefix');
    expect(keys).toContain('paths.runc');
    expect(keys).toContain('unavailable.nerdctl');
    // the sandbox has the very same keys: only their values differ
    expect([...profileKeys(sandboxProfile(SANDBOX_PREFIX)).keys()]).toEqual(keys);
  });

  // the test's own proof that it can fail
  test('fails on a page that omits a key, names an unknown one, or misstates a default or a type', () => {
    const row = (key: string) => page.split('\n').find((l) => l.startsWith(`| \`${key}\` |`))!;
    const runc = row('paths.runc');
    expect(pageProblems(page.replace(`${runc}\n`, ''))).toEqual(['the page omits `paths.runc`, a key of the profile']);
    expect(pageProblems(page.replace(runc, `${runc}\n${runc.replace('`paths.runc`', '`paths.runC`')}`))).toEqual([
      expect.stringMatching(/documents `paths\.runC`, which the profile has not$/),
      expect.stringContaining("loadProfile refuses the page's lesson defaults: "),
      expect.stringContaining("loadProfile refuses the page's sandbox defaults: "),
    ]);
    expect(pageProblems(page.replace(runc, runc.replace('"/usr/local/sbin/runc"', '"/usr/local/bin/runc"')))).toEqual([
      expect.stringMatching(/`paths\.runc`'s lesson default is "\/usr\/local\/sbin\/runc" in the code, /),
      "the page's lesson defaults load to another profile than the lesson profile",
    ]);
    const port = row('expect.podinfoPort');
    expect(pageProblems(page.replace(port, port.replace('| integer |', '| string |')))).toEqual([
      expect.stringMatching(/`expect\.podinfoPort` is integer in the code, string on the page$/),
    ]);
  });
});
