// Every ending is an ending, as root on a kept lab: verify told to stop by each of the four
// signals that end a run (SIGINT, SIGTERM, SIGHUP as when an ssh session drops, SIGQUIT) at three
// moments — start-up, the runc stage's probe containers, inside the bridge probe — exits with the
// shell's code for that signal and leaves the lab exactly as it was: namespaces, containers,
// tasks, images, files, netns, links, cgroups, IPv4 forwarding, temp dirs, processes. The lab's
// own walk, told to stop by SIGTERM or SIGHUP, is torn down the same way, and so is the coach,
// by SIGINT, SIGTERM or SIGHUP during a look or between two. A run killed outright
// (SIGKILL) is cleaned up by the next run, never a live one; a busy node's own containers are
// never touched.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadProfile } from '../helpers/profile.ts';
import { lessonCheck } from './support/cli.ts';
import { keepLab, removeLab, snapshotLab } from './support/labs.ts';
import { type Traces, labTraces } from './support/traces.ts';
import { eventually } from './support/eventually.ts';
import { AS_ROOT, needs } from './support/requirements.ts';

const asRoot = needs(AS_ROOT);
const ROOT = join(import.meta.dirname, '..');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
/** A run reaches its moment, or ends, long before this: below the longest test timeout here. */
const MOMENT_LIMIT_MS = 280_000;

/** Runs `lesson-check ARGS` in a process group of its own; `when` says when to send `signal`. */
async function runAndSignal(
  args: string[],
  signal: NodeJS.Signals,
  when: (timings: string) => Promise<boolean>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; sent: boolean; output: string }> {
  const timings = join(mkdtempSync(join(tmpdir(), 'lc-sig-')), 'timings.txt');
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/lesson-check.js'), ...args, '--reports', mkdtempSync(join(tmpdir(), 'lc-reports-'))],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', LC_TIMINGS: timings },
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const ended = new Promise<[number | null, NodeJS.Signals | null]>((done) =>
    child.once('close', (c, s) => done([c, s])),
  );
  let finished = false;
  void ended.then(() => (finished = true));
  // the moment comes, or the run ends without it (then nothing is sent: the tests say so)
  let outcome: string;
  try {
    outcome = await eventually(
      `the moment to send ${signal}`,
      async () => {
        if (finished) return 'ended';
        if (!(await when(timings))) return undefined;
        process.kill(-child.pid!, signal);
        return 'sent';
      },
      MOMENT_LIMIT_MS,
      { intervalMs: 10, observe: () => output },
    );
  } catch (e) {
    // the run is ours: it ends with the test, tearing down what it made
    process.kill(-child.pid!, 'SIGTERM');
    await ended;
    throw e;
  }
  const sent = outcome === 'sent';
  const [code, sig] = await ended;
  return { code, signal: sig, sent, output };
}

const moments: Record<string, (timings: string) => Promise<boolean>> = {
  'start-up': () => Promise.resolve(true),
  'the runc stage': (timings) =>
    Promise.resolve(existsSync(timings) && readFileSync(timings, 'utf8').includes('check R6: start')),
  'inside the bridge probe': async () => /^lc-\w+-k4/m.test((await execa('ip', ['netns', 'list'])).stdout),
};

/** The coach's moments: those of its looks, and between two looks (watching). */
const coachMoments: Record<string, (timings: string) => Promise<boolean>> = {
  ...moments,
  'between looks': (timings) =>
    Promise.resolve(existsSync(timings) && readFileSync(timings, 'utf8').includes('cli: vitest closed')),
};

/** Runs still recorded on this host (/run/lesson-check/runs): a run that ended is forgotten. */
function runRecords(): string[] {
  return existsSync('/run/lesson-check/runs') ? readdirSync('/run/lesson-check/runs') : [];
}

/** The run's own temp dirs and processes: nothing named after a run may outlive it. */
function runLeftovers(): string[] {
  return readdirSync(tmpdir()).filter((f) => /^(lc-[0-9a-f]{6}-|lesson-check-lc-)/.test(f));
}

asRoot.describe('every signal that ends a run leaves the node as it was', { timeout: 120_000 }, () => {
  let profileFile: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    profileFile = await keepLab();
    before = await snapshotLab(profileFile);
  }, 300_000);
  afterAll(async () => {
    if (profileFile) await removeLab(loadProfile(profileFile).prefix);
  });

  const verify = () => lessonCheck(['verify', '--profile', profileFile]);

  test(
    'a verify killed with SIGKILL inside the bridge probe: ' + 'the next one removes what it left, says so, and passes',
    async () => {
      const killed = await runAndSignal(
        ['verify', '--profile', profileFile],
        'SIGKILL',
        moments['inside the bridge probe']!,
      );
      expect(killed.signal, killed.output).toBe('SIGKILL');
      expect(await snapshotLab(profileFile)).not.toEqual(before);
      const next = await verify();
      expect(next.exitCode, next.output).toBe(0);
      expect(next.output).toMatch(
        /removed what run [0-9a-f]{6} \(verify, PID \d+, .*\) left here: it ended without cleaning up/,
      );
      expect(await snapshotLab(profileFile)).toEqual(before);
      expect(runLeftovers()).toEqual([]);
    },
  );

  test('two verifies at once, one killed: the live one is untouched and passes; the next run cleans', async () => {
    const [killed, live] = await Promise.all([
      runAndSignal(['verify', '--profile', profileFile], 'SIGKILL', moments['the runc stage']!),
      verify(),
    ]);
    expect(killed.signal, killed.output).toBe('SIGKILL');
    expect(live.exitCode, live.output).toBe(0);
    const next = await verify();
    expect(next.exitCode, next.output).toBe(0);
    expect(await snapshotLab(profileFile)).toEqual(before);
  });

  test(
    'lesson-check clean says when there is nothing to clean, ' + 'and a namespace merely named lc-… is not ours',
    async () => {
      const profile = loadProfile(profileFile);
      await execa(profile.paths.ctr, ['--address', profile.paths.socket, 'namespaces', 'create', 'lc-abcdef']);
      try {
        const run = await lessonCheck(['clean']);
        expect(run.exitCode).toBe(0);
        expect(run.output).toContain('nothing to clean');
        expect(
          (await execa(profile.paths.ctr, ['--address', profile.paths.socket, 'namespaces', 'ls', '-q'])).stdout.split(
            '\n',
          ),
        ).toContain('lc-abcdef');
      } finally {
        await execa(profile.paths.ctr, ['--address', profile.paths.socket, 'namespaces', 'remove', 'lc-abcdef']);
      }
    },
  );

  // each command told to stop at each moment it can be in: verify by every signal that ends a
  // run, the coach by those that end a session (a lab platform's SIGTERM, a closed terminal's SIGHUP)
  const endings = [
    { command: 'verify', signals: SIGNALS, moments },
    { command: 'coach', signals: ['SIGINT', 'SIGTERM', 'SIGHUP'] as const, moments: coachMoments },
  ];
  for (const { command, signals, moments: at } of endings)
    for (const signal of signals)
      for (const [moment, when] of Object.entries(at))
        test(`${command}, ${signal} at ${moment}`, async () => {
          const run = await runAndSignal([command, '--profile', profileFile], signal, when);
          expect(run.sent, run.output).toBe(true);
          // the shell's code for the signal; before the CLI has set its trap, the signal itself
          expect(
            run.code === 128 + constants.signals[signal] || run.signal === signal,
            `exit ${run.code}, signal ${run.signal}\n${run.output}`,
          ).toBe(true);
          expect(await snapshotLab(profileFile)).toEqual(before);
          expect(runLeftovers()).toEqual([]);
          expect(runRecords()).toEqual([]);
        });
});

asRoot.describe('a busy node is not disturbed', { timeout: 300_000 }, () => {
  let profileFile: string;
  afterAll(async () => {
    if (profileFile) await removeLab(loadProfile(profileFile).prefix);
  });

  test('a namespace of others, with a running container and its image, is identical after ten verifies', async () => {
    profileFile = await keepLab();
    const p = loadProfile(profileFile);
    const ctr = (...args: string[]) =>
      execa(p.paths.ctr, ['--address', p.paths.socket, '--namespace', 'k8s.io', ...args]);
    // as Kubernetes' own namespace would hold one: made outside the tool, running
    await ctr('images', 'pull', '--hosts-dir', p.paths.hostsDir, p.images.podinfo);
    await ctr(
      'run',
      '-d',
      '--runc-root',
      p.paths.runcRoot,
      '--cgroup',
      `${p.paths.cgroupParent}/busy`,
      p.images.podinfo,
      'busy',
    );
    const before = await snapshotLab(profileFile);
    expect(before['k8s.io tasks']).toMatch(/busy\s+\d+\s+RUNNING/);
    for (let i = 0; i < 10; i++) {
      const run = await lessonCheck(['verify', '--profile', profileFile]);
      expect(run.exitCode, run.output).toBe(0);
    }
    expect(await snapshotLab(profileFile)).toEqual(before);
  });
});

asRoot.describe('the lab, told to stop mid-walk, is torn down', { timeout: 300_000 }, () => {
  let before: Traces;
  beforeAll(async () => {
    before = await labTraces();
  });
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    test(`${signal} inside the bridge probe`, async () => {
      const run = await runAndSignal(['lab'], signal, moments['inside the bridge probe']!);
      expect(run.sent, run.output).toBe(true);
      expect(run.code, run.output).toBe(128 + constants.signals[signal]);
      expect(run.output).toMatch(/torn down .* prefix removed/);
      expect(await labTraces()).toEqual(before);
    });
  }
});
