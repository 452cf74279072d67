// The ssh runner (helpers/host/ssh-runner.ts), for real: Debian's sshd on loopback, its login shell
// bash with a ~/.bashrc that talks on both streams and counts how often it runs, as a student's
// can. A host's commands all go through one session, arrive as the same literal words, keep
// their own output (never .bashrc's), their deadlines, bounds and cancels; what the host says
// outside the protocol ends the session, not the run; a host without the runner's tools gets a
// session per command, as before.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freeLoopbackPort } from '../helpers/lab/lab.ts';
import { isAlive } from '../helpers/offline/supervisor.ts';
import { SshTransport } from '../helpers/host/ssh.ts';
import { KEPT_OUTPUT_BYTES } from '../helpers/host/transport.ts';
import { type Sshd, startSshd } from './sshd.ts';
import { eventually } from './support/eventually.ts';
import { AS_ROOT, SSHD, needs } from './support/requirements.ts';

/** The runners' folders on this machine (the "host"). */
const runnerFolders = () => readdirSync(tmpdir()).filter((f) => f.startsWith('lesson-check-runner.'));

needs(AS_ROOT, SSHD).describe('the ssh runner', { timeout: 60_000 }, () => {
  let sshd: Sshd;
  let home: string;
  const counter = () => (existsSync(join(home, 'bashrc-runs')) ? readFileSync(join(home, 'bashrc-runs'), 'utf8') : '');
  const foldersBefore = new Set<string>();
  const transports: SshTransport[] = [];
  const transport = (port = sshd.port) => {
    const t = new SshTransport({ name: 'lo', host: '127.0.0.1', port, user: 'root', identityFile: sshd.key });
    transports.push(t);
    return t;
  };

  beforeAll(async () => {
    for (const f of runnerFolders()) foldersBefore.add(f);
    home = mkdtempSync(join(tmpdir(), 'lc-runner-home-'));
    // a host without flock: the tools the runner checks for, but that one
    const bin = join(home, 'bin-without-flock');
    mkdirSync(bin);
    for (const tool of ['sh', 'base64', 'mktemp', 'head', 'wc', 'timeout', 'cat', 'rm', 'id', 'printf'])
      symlinkSync((await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim(), join(bin, tool));
    writeFileSync(
      join(home, '.bashrc'),
      [
        'echo bashrc-run >> "$HOME/bashrc-runs"',
        'echo "Welcome to the lab VM"',
        'echo "a .bashrc warning" >&2',
        `[ -e "$HOME/without-flock" ] && PATH=${bin}`,
        'true',
        '',
      ].join('\n'),
    );
    sshd = await startSshd({ stockHome: true, serverConfig: [`SetEnv HOME=${home}`] });
    process.env.LC_SSH_CONFIG = sshd.config;
  }, 60_000);

  afterAll(async () => {
    for (const t of transports) await t.close();
    delete process.env.LC_SSH_CONFIG;
    await sshd?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  test("without the runner, a student's .bashrc runs for every command and prints into its output", async () => {
    // the premise: plain ssh, one command
    const r = await execa(
      'ssh',
      ['-F', sshd.config, '-o', 'BatchMode=yes', '-i', sshd.key, '-p', String(sshd.port), 'root@127.0.0.1', 'id -u'],
      { reject: false },
    );
    expect(r.stdout).toBe('Welcome to the lab VM\n0');
    expect(r.stderr).toContain('a .bashrc warning');
  });

  test('every command of a host goes through one session: .bashrc runs once, its words in no output', async () => {
    const runsBefore = counter().split('\n').filter(Boolean).length;
    const t = transport();
    const results = [];
    for (let i = 0; i < 10; i++)
      results.push(await t.run(['sh', '-c', 'echo "out $1"; echo "err $1" >&2', 'sh', `${i}`]));
    results.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => t.run(['echo', `at once ${i}`])))));
    expect(results.map((r) => [r.exitCode, r.stdout, r.stderr])).toEqual([
      ...Array.from({ length: 10 }, (_, i) => [0, `out ${i}\n`, `err ${i}\n`]),
      ...Array.from({ length: 10 }, (_, i) => [0, `at once ${i}\n`, '']),
    ]);
    expect(counter().split('\n').filter(Boolean).length - runsBefore).toBe(1);
    expect(t.withoutRunner).toBeUndefined();
  });

  test('arguments, environment, folder and input arrive literally, newlines and all', async () => {
    const t = transport();
    const tricky = `a b; echo "$(id)" 'q' \`x\` $HOME\\n*\nsecond line\r\n\tthird ünïcødé '"$nl"'`;
    const r = await t.run(['printf', '%s|%s', tricky, ''], { env: { V: 'x\ny' } });
    expect(r.stdout).toBe(`${tricky}|`);
    const e = await t.run(['sh', '-c', 'printf %s "$V"; pwd; cat'], {
      env: { V: "it's $(id)\nand more" },
      cwd: '/usr/share',
      input: 'line one\nline two ✓\n',
    });
    expect(e.stdout).toBe("it's $(id)\nand more/usr/share\nline one\nline two ✓\n");
    // no input: the command reads end-of-file, not the session's requests
    expect((await t.run(['cat'])).stdout).toBe('');
    expect((await t.run(['sh', '-c', 'exit 7'])).exitCode).toBe(7);
  });

  test('answers never interleave: twenty commands at once, each printing 200 kB', async () => {
    const t = transport();
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.run(['sh', '-c', 'head -c 200000 /dev/zero | tr "\\0" "$1"', 'sh', `${i % 10}`]),
      ),
    );
    expect(runs.map((r) => [r.exitCode, r.stdout.length, new Set(r.stdout).size])).toEqual(
      runs.map(() => [0, 200000, 1]),
    );
    expect(runs.map((r) => r.stdout[0])).toEqual(Array.from({ length: 20 }, (_, i) => `${i % 10}`));
  });

  test('output past what is kept is counted; a flood is stopped there, as locally', async () => {
    const t = transport();
    const big = await t.run(['sh', '-c', `head -c ${KEPT_OUTPUT_BYTES + 5000} /dev/zero | tr "\\0" x`]);
    expect(big.stdout.length).toBe(KEPT_OUTPUT_BYTES);
    expect(big.notKept).toEqual({ stdout: 5000, stderr: 0 });
    expect(big.flooded).toBeUndefined();
    const flood = await t.run(['yes'], { timeoutMs: 20_000 });
    expect(flood.flooded).toBe(true);
    expect(flood.timedOut).toBe(false);
    expect(flood.stdout.length).toBe(KEPT_OUTPUT_BYTES);
    // the session goes on
    expect((await t.run(['echo', 'after the flood'])).stdout).toBe('after the flood\n');
  });

  test('a deadline kills the command and all it started, there; a cancel answers at once', async () => {
    const t = transport();
    const pidFile = join(home, 'sleeper.pid');
    const r = await t.run(['sh', '-c', 'sleep 30 & echo $! > "$1"; wait', 'sh', pidFile], { timeoutMs: 500 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    await eventually("the timed-out command's grandchild gone", () => !isAlive(sleeper), 5_000, { intervalMs: 20 });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 200);
    const cancelled = await t.run(['sleep', '3'], { signal: stop.signal });
    expect(cancelled.cancelled).toBe(true);
    expect(cancelled.durationMs).toBeLessThan(2_000);
    expect((await t.run(['echo', 'still here'])).stdout).toBe('still here\n');
  });

  test("what the host says outside the runner's answers ends that session, not the run", async () => {
    const t = transport();
    expect((await t.run(['true'])).exitCode).toBe(0);
    // a command that writes a forged line to the session itself: the first of its ancestors
    // whose stdout is not a file (its own output) is the runner's job, whose stdout is the session
    const forged = await t.run([
      'sh',
      '-c',
      'p=$PPID; while [ -f /proc/$p/fd/1 ]; do p=$(( $(ps -o ppid= -p $p) )); done; ' +
        'printf "LCR forged answer\\n" > /proc/$p/fd/1; sleep 1',
    ]);
    expect(forged.exitCode).toBeNull();
    expect(forged.spawnError).toMatch(/ssh to 127\.0\.0\.1: the host's session was ended/);
    // the next command opens a new session
    expect((await t.run(['echo', 'again'])).stdout).toBe('again\n');
  });

  test('a host without what the runner needs gets a session per command, as before', async () => {
    writeFileSync(join(home, 'without-flock'), '');
    try {
      const t = transport();
      const r = await t.run(['id', '-u']);
      expect(t.withoutRunner).toBe('the host lacks flock');
      // its login shell runs each command, so .bashrc's words are in its output there, as before the runner
      expect(r.stdout).toBe('Welcome to the lab VM\n0\n');
      expect(r.exitCode).toBe(0);
    } finally {
      rmSync(join(home, 'without-flock'));
    }
  });

  test("an unreachable host: every command says why, in ssh's words", async () => {
    const t = transport(await freeLoopbackPort());
    const runs = await Promise.all(Array.from({ length: 5 }, () => t.run(['true'])));
    for (const r of runs) {
      expect(r.exitCode).toBe(255);
      expect(r.spawnError).toMatch(/^ssh to 127\.0\.0\.1: .*Connection refused/);
    }
  });

  test('closing a transport ends its session and removes its folder on the host', async () => {
    for (const t of transports.splice(0)) await t.close();
    await eventually("the runners' folders removed", () => runnerFolders().every((f) => foldersBefore.has(f)), 5_000, {
      intervalMs: 20,
      observe: runnerFolders,
    });
  });
});
