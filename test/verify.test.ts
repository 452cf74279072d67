// verify and grade on a kept lab (the default source: the lesson's releases, nerdctl and the real
// podinfo included), as root: they pass where the lab passed and change nothing; two at once;
// --only, --list and the formats; containerd killed during a run; and the grade's own shape.
// Each student mistake, and what it fails and blocks: test/mistakes.test.ts.
import { chmodSync, existsSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CATALOGUE } from '../helpers/checks/catalogue.ts';
import { Host } from '../helpers/host/host.ts';
import { Lab } from '../helpers/lab/lab.ts';
import { loadProfile } from '../helpers/profile.ts';
import { nerdctl } from '../helpers/system/containerd.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { LocalTransport } from '../helpers/host/transport.ts';
import { lessonCheck } from './support/cli.ts';
import { keepLab, removeLab, snapshotLab } from './support/labs.ts';
import { check, failing } from './support/reports.ts';
import { overlappingChecks } from './support/timings.ts';
import { hostRuntimeTraces } from './support/traces.ts';
import { AS_ROOT, needs } from './support/requirements.ts';

/** grade.json, as these tests read it: the grade, and a row per check. */
interface GradeFile {
  percent: number;
  checks: Array<{ id: string }>;
}

needs(AS_ROOT).describe('verify and grade on a kept lab', { timeout: 120_000 }, () => {
  let profileFile: string;
  let prefix: string;
  let lab: Lab;
  const verify = (...args: string[]) => lessonCheck(['verify', '--profile', profileFile, ...args]);

  beforeAll(async () => {
    profileFile = await keepLab();
    prefix = loadProfile(profileFile).prefix;
    lab = Lab.open(join(prefix, 'lab/lab.json'), new Host(new LocalTransport()), loadProfile(profileFile));
  }, 300_000);
  afterAll(async () => {
    if (prefix) await removeLab(prefix);
  });

  test('passes all 20 checks and changes nothing; each check starts once what it needs has ended', async () => {
    const before = await snapshotLab(profileFile);
    const traces = await hostRuntimeTraces();
    const timings = join(mkdtempSync(join(tmpdir(), 'lc-timings-')), 'timings.txt');
    const run = await lessonCheck(['verify', '--profile', profileFile], { LC_TIMINGS: timings });
    expect(run.exitCode, run.output).toBe(0);
    expect(failing(run.report)).toEqual([]);
    for (const { id } of CATALOGUE) expect(check(run.report, id).state, id).toBe('passed');
    expect(await snapshotLab(profileFile)).toEqual(before);
    expect(await hostRuntimeTraces()).toEqual(traces);
    const marks = readFileSync(timings, 'utf8');
    const at = (mark: string) => Number(new RegExp(`^(\\d+) \\d+ ${mark}$`, 'm').exec(marks)?.[1]);
    // every check waits for what it needs, whatever its stage: R4 for R3, R6 and R1 for C3, the
    // nerdctl checks for R6 (K4 alone runs alongside R6, and is judged after it)
    for (const [id, need] of [
      ['R4', 'R3'],
      ['R6', 'C3'],
      ['R1', 'C3'],
      ['N2', 'R6'],
      ['K2', 'R6'],
      ['K3', 'K2'],
    ])
      expect(at(`check ${id!}: start`), `${id} after ${need}`).toBeGreaterThanOrEqual(at(`check ${need!}: end`));
    // and nothing else: checks of different stages run at once (K1, of the last stage, needs only
    // H1; R2 and R3 need nothing)
    expect(at('check K1: start')).toBeLessThan(at('check R6: end'));
    expect(overlappingChecks(timings, ['H2', 'R2', 'R3'])).toEqual(['H2', 'R2', 'R3']);
    expect(overlappingChecks(timings, ['K4', 'R6'])).toEqual(['K4', 'R6']);
  });

  test("two verify runs at once both pass, and neither sees the other's probes", async () => {
    const before = await snapshotLab(profileFile);
    const [a, b] = await Promise.all([verify(), verify()]);
    expect(a.exitCode, a.output).toBe(0);
    expect(b.exitCode, b.output).toBe(0);
    expect(await snapshotLab(profileFile)).toEqual(before);
  });

  test('--only runs just the checks asked for; --list names them all', async () => {
    const run = await verify('--only', 'R3,K1');
    expect(run.exitCode, run.output).toBe(0);
    expect(run.report!.checks.map((c) => [c.id, c.state])).toEqual([
      ['R3', 'passed'],
      ['K1', 'passed'],
    ]);
    // the progress names only those two, not the rest as skipped
    expect(run.output.match(/^ {2}\S+ [A-Z]\d+ /gm)?.map((l) => l.trim().split(' ')[1])).toEqual(['R3', 'K1']);
    const list = await lessonCheck(['verify', '--list']);
    for (const { id } of CATALOGUE) expect(list.output).toMatch(new RegExp(`^${id} `, 'm'));
  });

  test('--format json prints the results document alone; --quiet prints no progress', async () => {
    const json = await lessonCheck(['verify', '--profile', profileFile, '--only', 'R3', '--format', 'json']);
    expect(json.exitCode).toBe(0);
    expect((JSON.parse(json.stdout) as RunReport).checks.map((c: { id: string }) => c.id)).toEqual(['R3']);
    const quiet = await lessonCheck(['verify', '--profile', profileFile, '--only', 'R3,K1', '--quiet']);
    expect(quiet.exitCode).toBe(0);
    expect(quiet.output).not.toMatch(/^ {2}✓ /m);
    expect(quiet.output).toMatch(/^2 passed, 0 failed, 0 errors, 0 skipped/m);
  });

  test('grade prints a score and writes every check with state, weight and hint', async () => {
    const run = await lessonCheck(['grade', '--profile', profileFile]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toMatch(/score \d+\/\d+ \(100%\)/);
    const grade = JSON.parse(readFileSync(join(run.reportsDir, 'grade.json'), 'utf8')) as GradeFile;
    expect(grade.checks.map((c: { id: string }) => c.id)).toEqual(CATALOGUE.map((c) => c.id));
    for (const c of grade.checks) expect(Object.keys(c).sort()).toEqual(['hint', 'id', 'state', 'weight']);
  });

  // each single mistake, and what it fails, blocks and costs: test/mistakes.test.ts
  describe('a daemon killed mid-run; what a grade says of a failure', () => {
    /** The student's own nerdctl, as they would type it (the lab's socket, data root and CNI dirs). */
    const student = (...args: string[]) => {
      const [file, ...rest] = nerdctl(loadProfile(profileFile), {}, ...args);
      return execa(file!, rest);
    };

    test(
      'containerd killed during a verify: the checks in flight are errors that say so, exit 1 at once; ' +
        'once it is back, the next run cleans up',
      async () => {
        const timings = join(mkdtempSync(join(tmpdir(), 'lc-timings-')), 'timings.txt');
        const started = Date.now();
        let killedAt = 0;
        const run = await lessonCheck(['verify', '--profile', profileFile], { LC_TIMINGS: timings }, () => {
          if (killedAt || !existsSync(timings) || !readFileSync(timings, 'utf8').includes('check R6: start')) return;
          killedAt = Date.now();
          process.kill(Number(readFileSync(join(prefix, 'run/containerd/containerd.pid'), 'utf8')), 'SIGKILL');
        });
        expect(killedAt, run.output).toBeGreaterThan(started);
        expect(run.exitCode, run.output).toBe(1);
        expect(Date.now() - killedAt).toBeLessThan(10_000);
        const errors = run.report!.checks.filter((c) => c.state === 'error');
        expect(errors.length).toBeGreaterThan(0);
        for (const c of errors)
          expect(c.cause, c.id).toBe(
            `containerd stopped answering on ${join(prefix, 'run/containerd/containerd.sock')}`,
          );
        expect(failing(run.report).filter((id) => !errors.some((c) => c.id === id))).toEqual([]);
        await lab.startContainerd();
        // the student's podinfo may not have survived its containerd being killed
        await student('start', 'podinfo').catch(() => undefined);
        const next = await verify();
        expect(next.exitCode, next.output).toBe(0);
        expect(next.output).toMatch(/removed what run [0-9a-f]{6} \(verify, .*\) left here/);
      },
    );

    test('grade names the lesson section and the cause, not the fix', async () => {
      const runc = join(prefix, 'usr/local/sbin/runc');
      chmodSync(runc, 0o644);
      const run = await lessonCheck(['grade', '--profile', profileFile]);
      chmodSync(runc, 0o755);
      expect(run.exitCode).toBe(1);
      const grade = JSON.parse(readFileSync(join(run.reportsDir, 'grade.json'), 'utf8')) as GradeFile;
      const r2 = grade.checks.find((c: { id: string }) => c.id === 'R2');
      expect(r2).toEqual({
        id: 'R2',
        state: 'failed',
        weight: 2,
        // the hint as a student reads it
        hint: 'revisit "Install runc (step 3)": runc is not executable',
      });
      expect(JSON.stringify(grade)).not.toContain('install -m');
      expect(grade.percent).toBeLessThan(100);
    });
  });
});
