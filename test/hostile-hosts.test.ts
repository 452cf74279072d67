// A graded host is its student's: grading a class over ssh in which hosts print escape sequences,
// bidi overrides and invalid UTF-8 (from a lesson binary, a Banner, a login script), flood their
// output, trickle it without end, or answer every command after 25 s. The class finishes within
// the hostile hosts' deadline, no control character any host sent reaches the console or a
// report, the honest hosts grade exactly as they do alone, and no report leaves --reports.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadProfile } from '../helpers/profile.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { type HostileClass, hostileClass } from './hostile-class.ts';
import { type LabRun, lessonCheck } from './support/cli.ts';
import { keepLab, removeLab } from './support/labs.ts';
import { AS_ROOT, SSHD, needs } from './support/requirements.ts';

/* eslint-disable no-control-regex -- control characters are the point of this test */
/** What no host may put on the grader's screen or in a report: C0 but the layout ones, DEL, C1,
 * the bidi controls, the line and paragraph separators. */
const RAW =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069\u2028\u2029]/;
/* eslint-enable no-control-regex */
const HOST_DEADLINE_S = 60;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const runsOf = (run: LabRun) =>
  (JSON.parse(readFileSync(join(run.reportsDir, 'results.json'), 'utf8')) as { runs: RunReport[] }).runs;
const shape = (r: RunReport) => ({
  grade: r.grade,
  checks: r.checks.map((c) => [c.id, c.state, c.cause ?? '', c.skipReason ?? '']),
});

needs(AS_ROOT, SSHD).describe('grading a class with hostile hosts', { timeout: 400_000 }, () => {
  let profile: string;
  let cls: HostileClass;
  let whole: LabRun;
  let alone: LabRun;
  let wholeMs: number;

  beforeAll(async () => {
    profile = await keepLab();
    cls = await hostileClass(profile);
    const started = Date.now();
    // the honest hosts alone, and the whole class, at once
    [alone, whole] = await Promise.all([
      lessonCheck(['grade', '--inventory', cls.honestInventory, '--parallel', '8'], cls.env),
      lessonCheck(
        ['grade', '--inventory', cls.inventory, '--parallel', '8', '--host-timeout', String(HOST_DEADLINE_S)],
        cls.env,
      ).then((r) => ((wholeMs = Date.now() - started), r)),
    ]);
  }, 400_000);

  afterAll(async () => {
    if (profile) await removeLab(loadProfile(profile).prefix);
    await cls?.stop();
  });

  test('the class finishes within its slowest host deadline, exit 1, every host reported', () => {
    expect(whole.exitCode, whole.output).toBe(1);
    // the slow host: its deadline, then at most its sweep's own 15 s, and ssh's goodbye
    expect(wholeMs, whole.output).toBeLessThan((HOST_DEADLINE_S + 15 + 30) * 1000);
    expect(runsOf(whole).map((r) => r.host)).toEqual([
      '../../escaped',
      '@flood',
      'flood-forever',
      'honest-a',
      'Honest-A',
      'honest-b',
      'slow',
      'trickle',
    ]);
  });

  test('no control character a host sent reaches the console or any report; the text is there', () => {
    expect(whole.output).not.toMatch(RAW);
    const written = files(whole.reportsDir);
    expect(written.length).toBeGreaterThan(8 * 5);
    for (const f of written) expect(readFileSync(f, 'utf8').replace(/\r\n/g, '\n'), f).not.toMatch(RAW);
    // the reproduction, visible in the console and in the reports
    expect(whole.output).toMatch(/^ \.\.\/\.\.\/escaped +\d+%/m);
    const escaped = runsOf(whole).find((r) => r.host === '../../escaped')!;
    const r2 = escaped.checks.find((c) => c.id === 'R2')!;
    expect(r2.state).toBe('failed');
    expect(r2.observed).toContain('all checks passed');
    const summary = readFileSync(join(whole.reportsDir, 'summary.md'), 'utf8');
    expect(summary).toContain('boom\\x1b[2J\\x1b[H\\x1b[32m  ✓ all checks passed');
    expect(summary).toContain('\\x9b31m C1 CSI \\u{202e} reversed \ufffd\ufffd invalid');
  });

  test('floods, trickles and stalls cost their own host, each saying what happened', () => {
    const runs = new Map(runsOf(whole).map((r) => [r.host, r]));
    const c1 = (host: string) => runs.get(host)!.checks.find((c) => c.id === 'C1')!;
    expect(c1('@flood').state).toBe('failed');
    expect(c1('@flood').transcript.some((e) => /stdout: 5\d\.\d MB more not kept/.test(e.outcome))).toBe(true);
    expect(c1('@flood').observed!.length).toBeLessThan(10_000);
    expect(c1('flood-forever').observed).toMatch(/it printed more than 100\.0 MB/);
    expect(c1('trickle').observed).toMatch(/killed after 30000 ms \(timeout\)/);
    // stopped at its deadline, before its checks started or among them (a few of the host's own
    // may pass first): never a failure, and every error says why
    const slow = runs.get('slow')!;
    expect(slow.checks.filter((c) => c.state === 'failed')).toEqual([]);
    const errors = slow.checks.filter((c) => c.state === 'error');
    expect(errors.length).toBeGreaterThan(0);
    for (const c of errors) expect(c.cause, c.id).toMatch(/did not finish within its deadline/);
    // the banner and the login script's escapes did not get in the way of the checks
    expect(runs.get('Honest-A')!.grade!.percent).toBe(100);
  });

  test('the honest hosts grade exactly as they do alone', () => {
    const honest = (run: LabRun) => runsOf(run).filter((r) => r.host.startsWith('honest-'));
    expect(honest(alone).map(shape)).toEqual(honest(whole).map(shape));
    expect(honest(whole).map((r) => r.grade!.percent)).toEqual([100, 100]);
  });

  test('verify and grade of one host show the same text as text', async () => {
    for (const mode of ['verify', 'grade']) {
      const one = await lessonCheck([mode, '--profile', cls.profileOf('escapes')]);
      expect(one.exitCode, one.output).toBe(1);
      expect(one.output).not.toMatch(RAW);
      expect(one.output).toContain('boom\\x1b[2J\\x1b[H\\x1b[32m  ✓ all checks passed\\x1b[0m');
      for (const f of files(one.reportsDir)) expect(readFileSync(f, 'utf8'), f).not.toMatch(RAW);
    }
  });

  test('no host writes outside --reports, nor into another host’s folder', () => {
    const folders = readdirSync(join(whole.reportsDir, 'hosts'));
    // every host but the slow one, which never got as far as its checks
    expect(folders).toHaveLength(7);
    for (const f of folders) expect(f).toMatch(/^[\w@+][\w.@+-]*$/);
    // the names that differ only by case have a folder each, case-insensitively too
    expect(new Set(folders.map((f) => f.toLowerCase())).size).toBe(7);
    expect(existsSync(join(dirname(dirname(whole.reportsDir)), 'escaped'))).toBe(false);
    expect(existsSync(join(dirname(whole.reportsDir), 'escaped'))).toBe(false);
    // a spreadsheet evaluates none of the cells
    const rows = readFileSync(join(whole.reportsDir, 'gradebook.csv'), 'utf8').split('\r\n');
    expect(rows.find((r) => r.includes('@flood'))).toMatch(/^'@flood,/);
  });
});
