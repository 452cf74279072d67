// As root: the coach beside a student. A kept lab is walked only as far as C3 (containerd
// installed and running, nothing after), then the test performs the lesson's remaining steps one
// by one with the lab's own walk, as a student would at the prompt, while `lesson-check coach`
// watches with its output to a pipe (one line per change). "You are here" must move to each next
// section in lesson order, the expected failures show as milestones, a step undone shows broken
// at once, no line gives the fix away, and Ctrl-C leaves nothing of the coach on the host.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { nerdctl } from '../helpers/system/containerd.ts';
import { Host } from '../helpers/host/host.ts';
import { Lab } from '../helpers/lab/lab.ts';
import { type Profile, loadProfile } from '../helpers/profile.ts';
import { LocalTransport } from '../helpers/host/transport.ts';
import { lessonCheck, runLab } from './support/cli.ts';
import { startSshd } from './sshd.ts';
import { eventually } from './support/eventually.ts';
import { AS_ROOT, SSHD, needs } from './support/requirements.ts';

const ROOT = resolve(import.meta.dirname, '..');

/** What a coach may never print: the lesson's commands, or a file's contents. */
const SPOILERS = [/install -m/, /tar x/, /systemctl (enable|restart|start)/, /nerdctl run -d/, /SystemdCgroup = true/];

needs(AS_ROOT).describe('the coach beside a student walking a kept lab', () => {
  let profileFile: string;
  let profile: Profile;
  let lab: Lab;
  const host = new Host(new LocalTransport());
  let coach: ChildProcess;
  let output = '';
  let reports: string;

  beforeAll(async () => {
    const kept = await runLab(['--keep', '--until', 'C3']);
    expect(kept.exitCode, kept.output).toBe(0);
    profileFile = /its profile: (\S+)/.exec(kept.output)![1]!;
    profile = loadProfile(profileFile);
    lab = Lab.open(join(profile.prefix, 'lab', 'lab.json'), host, profile);
    reports = mkdtempSync(join(tmpdir(), 'lc-coach-'));
    coach = spawn(
      process.execPath,
      [join(ROOT, 'bin/lesson-check.js'), 'coach', '--profile', profileFile, '--reports', reports],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    coach.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    coach.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  }, 300_000);

  afterAll(async () => {
    if (coach.exitCode === null) coach.kill('SIGKILL');
    await runLab(['--down']);
  }, 120_000);

  /** Waits until the coach printed a line matching `pattern` after `from` characters. */
  async function sees(pattern: RegExp, from: number, limitMs = 30_000): Promise<string> {
    const line = () =>
      output
        .slice(from)
        .split('\n')
        .find((l) => pattern.test(l));
    return eventually(`the coach printing ${pattern}`, line, limitMs, { observe: () => output });
  }

  /** Performs a step and waits for where the coach says the student is now. */
  async function step(action: () => Promise<unknown>, here: RegExp): Promise<string> {
    const from = output.length;
    await action();
    return sees(here, from);
  }

  test('you are here moves to each next section in lesson order; milestones; broken again; no spoilers', async () => {
    // the first look: containerd done, ctr met, and the failure the lesson wants seen
    await sees(/done: Install containerd \(step 1\)/, 0, 60_000);
    await sees(/milestone: Meet ctr \(step 2\): `ctr run` fails for want of runc/, 0);
    await sees(/you are here: Install runc \(step 3\): next: runc is not installed \(R2\)/, 0);

    await step(() => lab.installRunc(), /you are here: Configure containerd \(step 4\): next: config.toml is missing/);
    await sees(/done: Install runc \(step 3\)/, 0);
    // written, not yet loaded: the lesson's restart is what is next
    await step(
      () => lab.writeConfig(),
      /you are here: Configure containerd \(step 4\): next: config.toml was changed after containerd last started/,
    );
    await step(() => lab.restartContainerd(), /you are here: Install nerdctl \(step 5\)/);
    await step(() => lab.installNerdctl(), /you are here: Install the CNI plugins \(step 6\)/);
    await sees(/milestone: Install nerdctl \(step 5\): nerdctl fails for want of the CNI plugins/, 0);
    await step(
      () => lab.installCniPlugins(),
      /you are here: Run podinfo \(step 7\): next: there is no podinfo container/,
    );
    await step(
      () =>
        host.ensure(nerdctl(profile, {}, 'run', '-d', '--name', profile.expect.podinfoName, profile.images.podinfo), {
          timeoutMs: 120_000,
        }),
      /all sections complete/,
    );

    // a section done earlier that breaks again is shown broken at once, and mended, done again
    const runc = profile.paths.runc;
    let from = output.length;
    chmodSync(runc, 0o644);
    await sees(/broken: Install runc \(step 3\)/, from);
    await sees(/you are here: Install runc \(step 3\): next: runc is not executable \(R2\)/, from);
    from = output.length;
    chmodSync(runc, 0o755);
    await sees(/all sections complete/, from);

    // config.toml edited after the restart: containerd runs with the old one (R5)
    from = output.length;
    await host.ensure(['touch', profile.paths.configToml]);
    await sees(/broken: Configure containerd \(step 4\)/, from);
    await sees(/you are here: Configure containerd \(step 4\): next: config.toml was changed after containerd/, from);
    from = output.length;
    await lab.restartContainerd();
    await sees(/all sections complete/, from);

    for (const spoiler of SPOILERS) expect(output, String(spoiler)).not.toMatch(spoiler);
    // the progress log: every check's changes, in order, as JSON Lines
    const log = readFileSync(join(reports, 'coach-progress.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { check: string; from: string | null; to: string });
    expect(log.filter((e) => e.check === 'R2').map((e) => e.to)).toEqual(['failed', 'passed', 'failed', 'passed']);
    expect(log.find((e) => e.check === 'K2' && e.to === 'passed')).toBeDefined();
  }, 600_000);

  test('Ctrl-C ends it and leaves nothing of it on the host: its record and its namespace are gone', async () => {
    const records = () => (existsSync('/run/lesson-check/runs') ? readdirSync('/run/lesson-check/runs') : []);
    expect(records()).toHaveLength(1);
    const ended = new Promise<number | null>((done) => coach.once('exit', (code) => done(code)));
    coach.kill('SIGINT');
    expect(await ended).toBe(130);
    expect(records()).toEqual([]);
    const namespaces = await host.capture([
      profile.paths.ctr,
      '--address',
      profile.paths.socket,
      'namespaces',
      'ls',
      '-q',
    ]);
    expect(namespaces.split('\n').filter((n) => n.startsWith('lc-'))).toEqual([]);
  }, 60_000);

  test('SIGTERM, as a lab platform ends a session, ends it the same way', async () => {
    const records = () => (existsSync('/run/lesson-check/runs') ? readdirSync('/run/lesson-check/runs') : []);
    let said = '';
    const second = spawn(process.execPath, [join(ROOT, 'bin/lesson-check.js'), 'coach', '--profile', profileFile], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    second.stdout.on('data', (d: Buffer) => (said += d.toString()));
    const ended = new Promise<number | null>((done) => second.once('exit', (code) => done(code)));
    try {
      // its first look done: it has a record to remove
      await eventually(
        'the second coach printing all sections complete',
        () => /all sections complete/.test(said),
        30_000,
        {
          observe: () => said,
        },
      );
      expect(records()).toHaveLength(1);
      second.kill('SIGTERM');
      expect(await ended).toBe(143);
      expect(records()).toEqual([]);
    } finally {
      // ours: it ends with the test, removing its record as a SIGTERM lets it
      if (second.exitCode === null && second.signalCode === null) second.kill('SIGTERM');
      await ended;
    }
  }, 60_000);

  test('on a terminal: one screen redrawn in place, 80×24, broken at once; a closed terminal ends it', async () => {
    const records = () => (existsSync('/run/lesson-check/runs') ? readdirSync('/run/lesson-check/runs') : []);
    // util-linux `script` gives the coach a pseudo-terminal of its own (80×24, as beside a shell)
    // and copies what it draws to our pipe
    const cli = `${process.execPath} ${join(ROOT, 'bin/lesson-check.js')}`;
    const reportsDir = mkdtempSync(join(tmpdir(), 'lc-coach-tty-'));
    const command = `stty cols 80 rows 24; exec ${cli} coach --profile ${profileFile} --reports ${reportsDir}`;
    const term = spawn('script', ['--quiet', '--flush', '--command', command, '/dev/null'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TERM: 'xterm-256color', NO_COLOR: '1' },
    });
    let drawn = '';
    term.stdout.on('data', (d: Buffer) => (drawn += d.toString()));
    // each redraw erases what is below the cursor (ESC [0J) and draws the whole screen
    const frames = () => drawn.split('\u001b[0J').slice(1);
    const lastFrame = () => frames().at(-1) ?? '';
    const shows = (pattern: RegExp, after: number) =>
      eventually(
        `a screen after the ${after} first showing ${pattern}`,
        () => frames().length > after && pattern.test(lastFrame()),
        30_000,
        { intervalMs: 50, observe: () => JSON.stringify(drawn) },
      );
    try {
      await shows(/all 8 sections complete: the lesson is done · watching · Ctrl-C stops/, 0);
      const first = frames().length;
      chmodSync(profile.paths.runc, 0o644);
      await shows(/→ Install runc \(step 3\)\s+broken again: you are here/, first);
      chmodSync(profile.paths.runc, 0o755);
      await shows(/all 8 sections complete/, frames().length);
      // in place: every screen after the first moves the cursor back up over the one before
      const screens = frames();
      for (const [i, screen] of screens.entries()) {
        const lines = screen.replace(/\r/g, '').split('\n').slice(0, -1);
        expect(lines.length, screen).toBeLessThanOrEqual(24);
        // eslint-disable-next-line no-control-regex
        for (const line of lines) expect([...line.replace(/\u001b\[\d*[A-Za-z]/g, '')].length).toBeLessThanOrEqual(80);
        if (i + 1 < screens.length) expect(screen).toMatch(new RegExp(`\\u001b\\[${lines.length}A\\r$`));
      }
      expect(drawn).not.toMatch(/\d\d:\d\d:\d\d you are here/);
      expect(records()).toHaveLength(1);
    } finally {
      // the terminal closes under the coach (SIGHUP): it removes its run as on Ctrl-C
      term.kill('SIGKILL');
    }
    await eventually('the coach of the closed terminal removing its run record', () => !records().length, 30_000, {
      observe: records,
    });
  }, 120_000);

  needs(SSHD).test(
    'over ssh, --once: one look at the finished lab through the shared connection, exit 0',
    async () => {
      const sshd = await startSshd();
      try {
        const config = join(mkdtempSync(join(tmpdir(), 'lc-coach-ssh-')), 'ssh_config');
        writeFileSync(config, `Host *\n  IdentityFile ${sshd.key}\n${readFileSync(sshd.config, 'utf8')}`);
        const target = `ssh://root@127.0.0.1:${sshd.port}`;
        const run = await lessonCheck(['coach', '--once', '--target', target, '--profile', profileFile], {
          LC_SSH_CONFIG: config,
        });
        expect(run.exitCode, run.output).toBe(0);
        expect(run.stdout).toMatch(/^lesson-check coach · 127\.0\.0\.1 · checked/);
        expect(run.stdout).toMatch(/all 8 sections complete: the lesson is done\n$/);
      } finally {
        await sshd.stop();
      }
    },
    120_000,
  );

  needs(SSHD).test(
    'over ssh, watching: runc broken and mended three times, each seen; no look leaves a probe',
    async () => {
      const sshd = await startSshd();
      const config = join(mkdtempSync(join(tmpdir(), 'lc-coach-ssh-')), 'ssh_config');
      writeFileSync(config, `Host *\n  IdentityFile ${sshd.key}\n${readFileSync(sshd.config, 'utf8')}`);
      let said = '';
      const remote = spawn(
        process.execPath,
        [
          join(ROOT, 'bin/lesson-check.js'),
          'coach',
          '--target',
          `ssh://root@127.0.0.1:${sshd.port}`,
          '--profile',
          profileFile,
          '--reports',
          mkdtempSync(join(tmpdir(), 'lc-coach-ssh-reports-')),
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', LC_SSH_CONFIG: config } },
      );
      remote.stdout.on('data', (d: Buffer) => (said += d.toString()));
      remote.stderr.on('data', (d: Buffer) => (said += d.toString()));
      const sees = (pattern: RegExp, from: number) =>
        eventually(`the coach over ssh printing ${pattern}`, () => pattern.test(said.slice(from)), 60_000, {
          observe: () => said,
        });
      // between looks, nothing of a bridge probe may be on the host (regression: a K4 netns left by
      // one look failed every later look's K4 with "File exists")
      const probes = async () =>
        (await host.capture(['ip', 'netns', 'list'])).split('\n').filter((l) => /^lc-/.test(l));
      try {
        await sees(/all sections complete/, 0);
        for (let cycle = 0; cycle < 3; cycle++) {
          let from = said.length;
          chmodSync(profile.paths.runc, 0o644);
          await sees(/you are here: Install runc \(step 3\): next: runc is not executable \(R2\)/, from);
          from = said.length;
          chmodSync(profile.paths.runc, 0o755);
          await sees(/all sections complete/, from);
          expect(await probes(), said).toEqual([]);
        }
        expect(said).not.toMatch(/error|File exists/i);
      } finally {
        chmodSync(profile.paths.runc, 0o755);
        const ended = new Promise<number | null>((done) => remote.once('exit', (code) => done(code)));
        remote.kill('SIGINT');
        expect(await ended).toBe(130);
        await sshd.stop();
      }
      expect(existsSync('/run/lesson-check/runs') ? readdirSync('/run/lesson-check/runs') : []).toEqual([]);
      // the host's fingerprint loop ends with the connection, at its next write (within a second)
      const loops = async () => (await execa('pgrep', ['-f', 'lesson-check fingerprint'], { reject: false })).stdout;
      await eventually("the host's fingerprint loop ending", async () => (await loops()) === '', 5_000, {
        observe: loops,
      });
    },
    300_000,
  );
});
