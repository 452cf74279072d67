// Every ending is an ending, as root on a kept lab: verify told to stop by each of the four
// signals that end a run (SIGINT, SIGTERM, SIGHUP as when an ssh session drops, SIGQUIT) at three
// moments — start-up, the runc stage's probe containers, inside the bridge probe — exits with the
// shell's code for that signal and leaves the lab exactly as it was: namespaces, containers,
// tasks, images, files, netns, links, cgroups, IPv4 forwarding, temp dirs, processes. The lab's
// own walk, told to stop by SIGTERM or SIGHUP, is torn down the same way.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadProfile } from '../helpers/profile.ts';
import { type Traces, keepLab, labTraces, removeLab, snapshotLab } from './lab-helpers.ts';

const asRoot = process.getuid?.() === 0;
const ROOT = join(import.meta.dirname, '..');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/** Runs `lesson-check ARGS` in a process group of its own; `when` says when to send `signal`. */
async function runAndSignal(args: string[], signal: NodeJS.Signals, when: (timings: string) => Promise<boolean>): Promise<{ code: number | null; signal: NodeJS.Signals | null; sent: boolean; output: string }> {
  const timings = join(mkdtempSync(join(tmpdir(), 'lc-sig-')), 'timings.txt');
  const child = spawn(process.execPath, [join(ROOT, 'bin/lesson-check.js'), ...args, '--reports', mkdtempSync(join(tmpdir(), 'lc-reports-'))], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', LC_TIMINGS: timings } });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const ended = new Promise<[number | null, NodeJS.Signals | null]>((done) => child.once('close', (c, s) => done([c, s])));
  let sent = false;
  let finished = false;
  void ended.then(() => (finished = true));
  while (!finished && !sent) {
    if (await when(timings)) {
      process.kill(-child.pid!, signal);
      sent = true;
    } else await new Promise((r) => setTimeout(r, 10));
  }
  const [code, sig] = await ended;
  return { code, signal: sig, sent, output };
}

const moments: Record<string, (timings: string) => Promise<boolean>> = {
  'start-up': async () => true,
  'the runc stage': async (timings) => existsSync(timings) && readFileSync(timings, 'utf8').includes('check R6: start'),
  'inside the bridge probe': async () => /^lc-\w+-k4/m.test((await execa('ip', ['netns', 'list'])).stdout),
};

/** The run's own temp dirs and processes: nothing named after a run may outlive it. */
function runLeftovers(): string[] {
  return readdirSync(tmpdir()).filter((f) => /^(lc-[0-9a-f]{6}-|lesson-check-lc-)/.test(f));
}

describe.runIf(asRoot)('every signal that ends a run leaves the node as it was', { timeout: 120_000 }, () => {
  let profileFile: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    profileFile = await keepLab();
    before = await snapshotLab(profileFile);
  }, 300_000);
  afterAll(async () => {
    if (profileFile) await removeLab(loadProfile(profileFile).prefix);
  });

  for (const signal of SIGNALS) {
    for (const [moment, when] of Object.entries(moments)) {
      test(`verify, ${signal} at ${moment}`, async () => {
        const run = await runAndSignal(['verify', '--profile', profileFile], signal, when);
        expect(run.sent, run.output).toBe(true);
        // the shell's code for the signal; before the CLI has set its trap, the signal itself
        expect(run.code === 128 + constants.signals[signal] || run.signal === signal, `exit ${run.code}, signal ${run.signal}\n${run.output}`).toBe(true);
        expect(await snapshotLab(profileFile)).toEqual(before);
        expect(runLeftovers()).toEqual([]);
      });
    }
  }
});

describe.runIf(asRoot)('the lab, told to stop mid-walk, is torn down', { timeout: 300_000 }, () => {
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
