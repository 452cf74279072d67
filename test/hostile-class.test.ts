// A class that fights back (issue 34): separate "hosts" (an sshd each, in a mount namespace of its
// own), one of them with junk in lesson-check's own run records (every shape, one naming the
// grader's machine, 10⁵ files), one whose ctr answers the sweep's lists with 10⁵ names made from
// the run ids in its records; the grader's ssh_config asks for agent forwarding and sends every
// variable. The class finishes, every host has its row, the honest hosts grade exactly as they do
// alone, the sweeps stay bounded, nothing of the grader's reaches a host, and a grader killed or
// told to stop leaves no child and nothing on the hosts.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadProfile } from '../helpers/profile.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { type FightingClass, fightingClass } from './fighting-class.ts';
import { type LabRun, lessonCheck } from './support/cli.ts';
import { keepLab, removeLab, snapshotLab } from './support/labs.ts';
import { eventually } from './support/eventually.ts';
import { AS_ROOT, SSHD, needs } from './support/requirements.ts';

const HOST_TIMEOUT_S = 120;

const runsOf = (run: LabRun) =>
  (JSON.parse(readFileSync(join(run.reportsDir, 'results.json'), 'utf8')) as { runs: RunReport[] }).runs;
const shape = (r: RunReport) => ({
  grade: r.grade,
  checks: r.checks.map((c) => [c.id, c.state, c.cause ?? '', c.skipReason ?? '']),
});
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

/** The highest resident set the process reached (VmHWM), polled until it ends. */
function peakRss(pid: number): () => number {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (kb) peak = Math.max(peak, Number(kb) * 1024);
    } catch {
      clearInterval(timer);
    }
  }, 200);
  return () => (clearInterval(timer), peak);
}

/** The processes of a process group (the grader and its hosts' children share the grader's). */
async function groupMembers(pgid: number): Promise<string[]> {
  const r = await execa('ps', ['-e', '-o', 'pid=,pgid=,args='], { reject: false });
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, g]) => Number(g) === pgid)
    .map((cols) => cols.join(' '));
}

needs(AS_ROOT, SSHD).describe('grading a class that fights back', { timeout: 600_000 }, () => {
  let profile: string;
  let cls: FightingClass;
  let agent: { socket: string; pid: string };
  let env: Record<string, string>;
  let before: Record<string, string>;
  let whole: LabRun;
  let alone: LabRun;
  let wholeMs = 0;
  let rss = 0;

  beforeAll(async () => {
    profile = await keepLab();
    cls = await fightingClass(profile);
    // the grader's agent, and variables of the grader's and of lesson-check's own kind
    const started = await execa('ssh-agent', ['-s', '-a', join(cls.dir, 'agent.sock')]);
    agent = {
      socket: join(cls.dir, 'agent.sock'),
      pid: /SSH_AGENT_PID=(\d+)/.exec(started.stdout)![1]!,
    };
    env = {
      LC_SSH_CONFIG: cls.sshConfig,
      SSH_AUTH_SOCK: agent.socket,
      LANG: 'C.UTF-8',
      LC_GRADER_SECRET: 'grader-only',
    };
    before = await snapshotLab(profile);
    alone = await lessonCheck(['grade', '--inventory', cls.honestInventory], env);
    const t0 = Date.now();
    let stopRss: (() => number) | undefined;
    whole = await lessonCheck(
      ['grade', '--inventory', cls.inventory, '--parallel', '5', '--host-timeout', String(HOST_TIMEOUT_S)],
      env,
      (_text, pid) => (stopRss ??= peakRss(pid)),
    );
    wholeMs = Date.now() - t0;
    rss = stopRss?.() ?? 0;
    console.log(`the class: ${(wholeMs / 1000).toFixed(1)} s, the grader's peak RSS ${(rss / 1e6).toFixed(0)} MB`);
  }, 600_000);

  afterAll(async () => {
    if (agent) await execa('kill', [agent.pid], { reject: false });
    await cls?.stop();
    if (profile) await removeLab(loadProfile(profile).prefix);
  });

  test('the test can fail: without lesson-check, this ssh_config forwards the agent and sends LC_*', async () => {
    // (to the honest hosts' sshd: the hostile ones log every session, and this one is not ours)
    const r = await execa(cls.sshTo('honest', 'env')[0]!, cls.sshTo('honest', 'env').slice(1), {
      env: { ...env, PATH: process.env.PATH! },
      extendEnv: false,
      reject: false,
    });
    expect(r.stdout).toMatch(/^SSH_AUTH_SOCK=/m);
    expect(r.stdout).toMatch(/^LC_GRADER_SECRET=grader-only$/m);
  });

  test('the class finishes: no crash, a row for every host, within its host timeout', () => {
    expect(whole.output).not.toMatch(/TypeError|internal error|at .*\.ts:\d+/);
    // the hostile hosts attack lesson-check's traces, not the lesson: their checks all pass
    expect(whole.exitCode, whole.output).toBe(0);
    expect(runsOf(whole).map((r) => r.host)).toEqual([
      'flood-lists',
      'honest-1',
      'honest-2',
      'honest-3',
      'junk-records',
    ]);
    const gradebook = readFileSync(join(whole.reportsDir, 'gradebook.csv'), 'utf8');
    for (const host of ['flood-lists', 'honest-1', 'honest-2', 'honest-3', 'junk-records'])
      expect(gradebook).toContain(host);
    expect(wholeMs).toBeLessThan(HOST_TIMEOUT_S * 1000);
    expect(rss).toBeGreaterThan(0);
    expect(rss).toBeLessThan(1024 ** 3);
  });

  test('the honest hosts grade exactly as they do alone: 20/20', () => {
    const honest = (run: LabRun) => runsOf(run).filter((r) => r.host.startsWith('honest-'));
    const notPassed = (run: LabRun) =>
      honest(run).flatMap((r) =>
        r.checks.filter((c) => c.state !== 'passed').map((c) => `${r.host} ${c.id}: ${c.observed}`),
      );
    expect(honest(whole).map(shape)).toEqual(honest(alone).map(shape));
    expect(
      honest(whole).map((r) => r.grade!.percent),
      notPassed(whole).join('\n'),
    ).toEqual([100, 100, 100]);
  });

  test('junk in the run records is reported and left alone; the one valid dead record is swept, bounded', async () => {
    const junk = runsOf(whole).find((r) => r.host === 'junk-records')!;
    // the junk changes nothing of the checks
    expect(junk.checks.filter((c) => c.state !== 'passed' && c.state !== 'skipped').map((c) => c.id)).toEqual([]);
    const note = junk.notes.find((n) => n.startsWith('left alone'));
    expect(note).toMatch(/no run record lesson-check wrote/);
    expect(note).toMatch(/^left alone 31 files .*: 0000aa\.json \(no process start time\), 0000cc\.json \(no run id/);
    expect(note).toContain('0000dd.json (not JSON)');
    expect(note).toContain('0000ee.json (its path nerdctlDataRoot is not an absolute path)');
    expect(note).toContain('0000ff.json (not JSON)');
    expect(note).toMatch(/and 26 more$/);
    expect(whole.output).toMatch(/junk-records: removed what run 0000bb/);
    // 0000bb's ctr printed 10⁵ namespaces of its run and 10⁵ containers in each: a few calls
    expect(lines(cls.deadRecordCtrLog).length).toBeGreaterThan(0);
    expect(lines(cls.deadRecordCtrLog).length).toBeLessThan(200);
    const [ssh, ...args] = cls.sshTo('junk-records', 'ls /run/lesson-check/runs | grep -v ^zz-');
    const left = await execa(ssh!, args, { env: { PATH: process.env.PATH! }, extendEnv: false });
    expect(left.stdout.split('\n')).not.toContain('0000bb.json');
    expect(left.stdout.split('\n')).toContain('null.json');
  });

  test('a ctr that floods the sweep costs a bounded number of commands', () => {
    const calls = lines(cls.floodCtrLog);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.length).toBeLessThan(400);
    expect(runsOf(whole).find((r) => r.host === 'flood-lists')).toBeDefined();
  });

  test('no session on a graded host saw the agent, LANG or any LC_* variable', () => {
    const sessions = readFileSync(cls.envLog, 'utf8');
    // each hostile host's sessions: the grader's own, and its checks' (one per process, each
    // running all of that process's commands: helpers/host/ssh-runner.ts)
    expect(sessions.split('---').length - 1).toBeGreaterThanOrEqual(4);
    const saw = (pattern: RegExp) =>
      sessions
        .split('---')
        .filter((s) => pattern.test(s))
        .map((s) => s.trim());
    expect(saw(/^SSH_AUTH_SOCK=/m)).toEqual([]);
    expect(saw(/^LC_/m)).toEqual([]);
    expect(saw(/^LANG=/m)).toEqual([]);
  });

  test('nothing is left on the lab: its namespaces, containers, images, netns and links as before', async () => {
    expect(await snapshotLab(profile)).toEqual(before);
  });

  test('SIGTERM mid-grade ends it within seconds; a SIGKILLed grader leaves no child behind', async () => {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const child = spawn(
        process.execPath,
        [
          join(import.meta.dirname, '..', 'bin/lesson-check.js'),
          'grade',
          '--inventory',
          cls.inventory,
          '--parallel',
          '5',
        ],
        { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, NO_COLOR: '1' } },
      );
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const ended = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
      const members = () => groupMembers(child.pid!);
      try {
        // stopped while the hosts' checks run: each host's child is up
        await eventually(
          'the hosts of the class being checked',
          async () => (await members()).filter((p) => p.includes('run-suites')).length >= 3,
          60_000,
          { intervalMs: 200, observe: async () => ({ group: await members(), output }) },
        );
        const sent = Date.now();
        child.kill(signal);
        if (signal === 'SIGTERM') {
          expect(await ended, output).toBe(143);
          expect(Date.now() - sent).toBeLessThan(20_000);
        }
        // the group holds the grader and the hosts' children: none outlives it
        await eventually(
          `no process of the ${signal}ed grader left`,
          async () => (await members()).length === 0,
          30_000,
          {
            intervalMs: 200,
            observe: members,
          },
        );
      } finally {
        // the grader's group is ours: nothing of it outlives a failed test either
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // the next grade removes what the killed one left on each host, and grades as before
    const next = await lessonCheck(['grade', '--inventory', cls.inventory], env);
    expect(next.output).toMatch(/removed what run [0-9a-f]{6}/);
    expect(runsOf(next).map((r) => r.grade!.percent)).toEqual([100, 100, 100, 100, 100]);
    expect(await snapshotLab(profile)).toEqual(before);
  });
});
