// verify and grade on a kept lab (the default source: the lesson's releases, nerdctl and the real
// podinfo included), as root: they pass where the lab passed and change nothing; each student
// mistake fails the check that guards it, with a hint of its own, while the checks that merely
// depend on it are skipped as blocked; stopping containerd fails C2 alone.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  rmSync,
  readFileSync,
  renameSync,
  statSync,
  utimesSync,
  writeFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CATALOGUE } from '../helpers/catalogue.ts';
import { Host } from '../helpers/host.ts';
import { Lab } from '../helpers/lab/lab.ts';
import { loadProfile } from '../helpers/profile.ts';
import { nerdctl } from '../helpers/containerd.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { LocalTransport } from '../helpers/transport.ts';
import {
  check,
  failing,
  hostRuntimeTraces,
  keepLab,
  lessonCheck,
  overlappingChecks,
  removeLab,
  snapshotLab,
} from './lab-helpers.ts';

const asRoot = process.getuid?.() === 0;

/** grade.json, as these tests read it: the grade, and a row per check. */
interface GradeFile {
  percent: number;
  checks: Array<{ id: string }>;
}

describe.runIf(asRoot)('verify and grade on a kept lab', { timeout: 120_000 }, () => {
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

  describe('each mistake fails the check that guards it, with its own hint', () => {
    const config = () => join(prefix, 'etc/containerd/config.toml');
    let lesson: string;
    beforeAll(() => {
      lesson = readFileSync(config(), 'utf8');
    });

    /** Writes config.toml as a student would, then restarts containerd so R5 stays satisfied. */
    async function writeConfigAndRestart(text: string): Promise<void> {
      writeFileSync(config(), text);
      await lab.restartContainerd();
    }

    // config.toml mistakes that leave the file readable: R3 names the mistake, R4 sees its effect
    const configMistakes = [
      {
        name: 'SystemdCgroup = "true" (a string)',
        from: 'SystemdCgroup = true',
        to: 'SystemdCgroup = "true"',
        r3: {
          observed: expect.stringContaining('(a string)') as unknown,
          cause: 'SystemdCgroup is a string, not a boolean',
          hint: expect.stringContaining('bare boolean') as unknown,
        },
      },
      {
        name: 'the setting under the version 2 plugin name',
        from: 'io.containerd.cri.v1.runtime',
        to: 'io.containerd.grpc.v1.cri',
        r3: {
          cause: 'SystemdCgroup is set under the version 2 plugin name',
          hint: expect.stringContaining('io.containerd.cri.v1.runtime') as unknown,
        },
      },
      {
        name: 'a misspelt key',
        from: 'SystemdCgroup',
        to: 'systemdCgroup',
        r3: { cause: 'the SystemdCgroup key is misspelt', hint: expect.stringContaining('systemdCgroup') as unknown },
      },
    ];
    for (const m of configMistakes) {
      test(m.name, async () => {
        await writeConfigAndRestart(lesson.replace(m.from, m.to));
        const run = await verify();
        await writeConfigAndRestart(lesson);
        expect(failing(run.report)).toEqual(['R3', 'R4']);
        expect(check(run.report, 'R3')).toMatchObject(m.r3);
      });
    }

    test('config edited but containerd not restarted', async () => {
      writeFileSync(config(), lesson);
      const run = await verify();
      await lab.restartContainerd();
      expect(failing(run.report)).toEqual(['R5']);
      expect(check(run.report, 'R5')).toMatchObject({
        cause: 'config.toml was changed after containerd last started',
        hint: expect.stringContaining('restart') as unknown,
      });
    });

    test('a malformed config.toml fails R3 with file, line and column; R4 is blocked; the run goes on', async () => {
      const { mtime } = statSync(config());
      writeFileSync(config(), lesson.replace('SystemdCgroup = true', 'SystemdCgroup = tru'));
      // keep the mtime: this case is about the file's content, not about R5's restart
      utimesSync(config(), mtime, mtime);
      const run = await verify();
      writeFileSync(config(), lesson);
      utimesSync(config(), mtime, mtime);
      expect(failing(run.report)).toEqual(['R3']);
      expect(check(run.report, 'R3').observed).toMatch(new RegExp(`^${config()}:4:\\d+: `));
      expect(check(run.report, 'R4')).toMatchObject({
        state: 'skipped',
        skipReason: expect.stringMatching(/^blocked by R3: /) as unknown,
      });
      expect(check(run.report, 'K4').state).toBe('passed');
    });

    test('runc present but not executable', async () => {
      const runc = join(prefix, 'usr/local/sbin/runc');
      chmodSync(runc, 0o644);
      const run = await verify();
      chmodSync(runc, 0o755);
      // one mistake, one failure: R6, and what needs it, are blocked by R2
      expect(failing(run.report)).toEqual(['R2']);
      expect(check(run.report, 'R2')).toMatchObject({ observed: 'mode 0644', cause: 'runc is not executable' });
      for (const id of ['R6', 'K4'])
        expect(check(run.report, id), id).toMatchObject({
          state: 'skipped',
          skipReason: expect.stringMatching(/^blocked by R2: runc is not executable/) as unknown,
        });
    });

    // where students put runc: each slip fails R2 alone, and R1 and R6 say what is true of it
    const runcSlips = [
      {
        name: 'runc installed in /usr/local/bin instead of /usr/local/sbin',
        to: 'usr/local/bin/runc',
        // containerd still finds it on its PATH: only R2's fact is broken
        blocked: [],
      },
      {
        name: 'runc installed under the release name (/usr/local/sbin/runc.amd64)',
        to: 'usr/local/sbin/runc.amd64',
        // containerd looks runc up by name: nothing can run a container, and that is R2's mistake
        blocked: ['R6', 'N2', 'N3', 'K2', 'K3', 'K4'],
      },
    ];
    for (const slip of runcSlips) {
      test(slip.name, async () => {
        const runc = join(prefix, 'usr/local/sbin/runc');
        renameSync(runc, join(prefix, slip.to));
        const run = await verify();
        renameSync(join(prefix, slip.to), runc);
        expect(failing(run.report)).toEqual(['R2']);
        expect(check(run.report, 'R2')).toMatchObject({
          cause: 'runc is installed under another name or folder',
          observed: expect.stringContaining(join(prefix, slip.to)) as unknown,
        });
        const skipped = run.report!.checks.filter((c) => c.state === 'skipped');
        expect(skipped.map((c) => c.id)).toEqual(slip.blocked);
        for (const c of skipped) expect(c.skipReason, c.id).toMatch(/^blocked by R2: /);
      });
    }

    test('a second runc in /usr/local/bin beside the lesson one: R1 names that copy, and only R1 fails', async () => {
      const copy = join(prefix, 'usr/local/bin/runc');
      copyFileSync(join(prefix, 'usr/local/sbin/runc'), copy);
      chmodSync(copy, 0o755);
      const run = await verify();
      rmSync(copy);
      expect(failing(run.report)).toEqual(['R1']);
      expect(check(run.report, 'R1')).toMatchObject({
        cause: `a second runc is installed in ${join(prefix, 'usr/local/bin')}`,
        observed: expect.stringContaining(copy) as unknown,
      });
    });

    test('CNI plugins unpacked into a folder of their own', async () => {
      const bin = join(prefix, 'opt/cni/bin');
      const nested = join(bin, 'cni-plugins-linux-amd64-v1.9.0');
      mkdirSync(nested);
      const plugins = readdirSync(bin).filter((f) => f !== 'cni-plugins-linux-amd64-v1.9.0');
      for (const p of plugins) renameSync(join(bin, p), join(nested, p));
      const run = await verify();
      for (const p of plugins) renameSync(join(nested, p), join(bin, p));
      await execa('rmdir', [nested]);
      expect(failing(run.report)).toEqual(['K1']);
      expect(check(run.report, 'K1')).toMatchObject({
        cause: 'the CNI plugins were unpacked into the wrong folder',
        observed: expect.stringContaining(`${nested}/bridge`) as unknown,
      });
      expect(check(run.report, 'K4')).toMatchObject({
        state: 'skipped',
        skipReason: expect.stringMatching(/^blocked by K1: /) as unknown,
      });
    });

    /** The student's own nerdctl, as they would type it (the lab's socket, data root and CNI dirs). */
    const student = (...args: string[]) => {
      const [file, ...rest] = nerdctl(loadProfile(profileFile), {}, ...args);
      return execa(file!, rest);
    };

    test('nerdctl not executable: N1 fails, and the nerdctl checks are blocked by it', async () => {
      const bin = join(prefix, 'usr/local/bin/nerdctl');
      chmodSync(bin, 0o644);
      const run = await verify();
      chmodSync(bin, 0o755);
      expect(failing(run.report)).toEqual(['N1']);
      expect(check(run.report, 'N1')).toMatchObject({
        observed: 'mode 0644',
        cause: 'nerdctl has the wrong permissions',
      });
      for (const id of ['N2', 'N3', 'K2'])
        expect(check(run.report, id)).toMatchObject({
          state: 'skipped',
          skipReason: expect.stringMatching(/^blocked by N1: /) as unknown,
        });
      expect(check(run.report, 'K4').state).toBe('passed');
    });

    test("nerdctl's bash completion missing: N1 fails, nerdctl itself still passes its checks", async () => {
      const completion = join(prefix, 'etc/bash_completion.d/nerdctl');
      renameSync(completion, `${completion}.away`);
      const run = await verify();
      renameSync(`${completion}.away`, completion);
      expect(failing(run.report)).toEqual(['N1']);
      expect(check(run.report, 'N1')).toMatchObject({
        observed: 'it is missing',
        cause: 'the bash completion is missing',
      });
      for (const id of ['N2', 'N3', 'K2', 'K3']) expect(check(run.report, id).state, id).toBe('passed');
    });

    test('the podinfo container stopped: K2 fails and K3 is blocked', async () => {
      await student('stop', 'podinfo');
      const run = await verify();
      await student('start', 'podinfo');
      expect(failing(run.report)).toEqual(['K2']);
      expect(check(run.report, 'K2')).toMatchObject({
        cause: 'podinfo is not running',
        observed: expect.stringMatching(/^nerdctl ps: podinfo (Exited|Created)/) as unknown,
      });
      expect(check(run.report, 'K3')).toMatchObject({
        state: 'skipped',
        skipReason: expect.stringMatching(/^blocked by K2: /) as unknown,
      });
    });

    test('podinfo run with --net host instead of the bridge: K3 fails, K2 passes', async () => {
      const image = loadProfile(profileFile).images.podinfo;
      await student('rm', '-f', 'podinfo');
      await student('run', '-d', '--name', 'podinfo', '--net', 'host', image);
      const run = await verify();
      await student('rm', '-f', 'podinfo');
      await student('run', '-d', '--name', 'podinfo', image);
      const unexpected = run.report?.checks.filter((c) => c.state !== 'passed' && c.id !== 'K3');
      expect(failing(run.report), JSON.stringify(unexpected, null, 1)).toEqual(['K3']);
      expect(check(run.report, 'K2').state).toBe('passed');
      expect(check(run.report, 'K3')).toMatchObject({
        cause: "podinfo is not on nerdctl's bridge network",
        hint: expect.stringContaining('--net host') as unknown,
      });
    });

    test('containerd stopped: C2 fails and the checks that need the daemon are blocked', async () => {
      await lab.stopContainerd();
      const run = await verify();
      await lab.startContainerd();
      expect(failing(run.report)).toEqual(['C2']);
      for (const id of ['C3', 'R1', 'R5', 'R6', 'N2', 'N3', 'K2', 'K4'])
        expect(check(run.report, id)).toMatchObject({
          state: 'skipped',
          skipReason: expect.stringMatching(/^blocked by C2: /) as unknown,
        });
    });

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
        hint: 'revisit "Install runc (step 3)": runc is not executable',
      });
      expect(JSON.stringify(grade)).not.toContain('install -m');
      expect(grade.percent).toBeLessThan(100);
    });
  });
});
