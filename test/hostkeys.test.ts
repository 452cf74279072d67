// lesson-check hostkeys (issue 34): a class's SSH host keys, learnt for known_hosts before the
// first grade, from a real sshd on loopback. The sshd needs root; --help and usage errors do not.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freeLoopbackPort } from '../helpers/lab/lab.ts';
import { type Sshd, startSshd } from './sshd.ts';
import { AS_ROOT, SSHD, needs } from './support/requirements.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin/lesson-check.js');

/** `lesson-check hostkeys ARGS`, stdout (the known_hosts lines) and stderr apart, each without its last newline. */
async function hostkeys(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [BIN, 'hostkeys', ...args], { reject: false, env: { NO_COLOR: '1', ...env } });
}

/** `ssh … true` in BatchMode, trusting exactly the keys in `knownHosts`. */
async function sshWith(sshd: Sshd, knownHosts: string) {
  return execa(
    'ssh',
    [
      '-F',
      '/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-i',
      sshd.key,
      '-p',
      String(sshd.port),
      'root@127.0.0.1',
      'true',
    ],
    { reject: false },
  );
}

describe('lesson-check hostkeys, without hosts', () => {
  test('--help prints its own usage, exit 0', async () => {
    const run = await hostkeys(['--help']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^usage: lesson-check hostkeys --inventory PATH/);
    expect(run.stdout).toContain('>> ~/.ssh/known_hosts');
  });

  test('no hosts given is a usage error that says where its usage is, exit 2', async () => {
    const run = await hostkeys([]);
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toContain('hostkeys needs the hosts of a class: --inventory PATH or --target URL');
    expect(run.stderr).toContain("see 'lesson-check hostkeys --help'");
    expect(run.stdout).toBe('');
  });

  test('what a host answers is host input: only well-formed key lines of the host asked reach stdout', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'lc-hostkeys-bin-'));
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(bin, 'key')]);
    const key = readFileSync(join(bin, 'key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const blob = key.split(' ')[1]!;
    // an ssh-keyscan that says what a hostile host could make it say
    writeFileSync(
      join(bin, 'ssh-keyscan'),
      [
        '#!/bin/sh',
        `echo '[127.0.0.1]:2222 ${key}'`,
        `echo '[127.0.0.1]:2222 ssh-rsa ${blob}'`,
        `echo '[10.9.9.9]:2222 ${key}'`,
        `echo '[127.0.0.1]:2222 ${key} trailing'`,
        "printf '[127.0.0.1]:2222 ssh-ed25519 \\033]0;pwned\\007\\n'",
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const run = await hostkeys(['--target', 'ssh://127.0.0.1:2222'], {
      PATH: `${bin}:${process.env.PATH}`,
      LC_SSH_CONFIG: '/dev/null',
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe(`[127.0.0.1]:2222 ${key}`);
    expect(run.stderr).toContain(
      '127.0.0.1 (127.0.0.1 port 2222): 4 line(s) of its answer are not host keys, left out',
    );
    expect(run.stderr).not.toContain('\u001b');
  });
});

needs(AS_ROOT, SSHD).describe('lesson-check hostkeys, against a real sshd', () => {
  let sshd: Sshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'lc-hostkeys-test-'));
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  /** The known_hosts line startSshd wrote for its port: the server's own host key. */
  const trusted = () => readFileSync(join(dirname(sshd.config), 'known_hosts'), 'utf8').split('\n')[0]!;

  test("the known_hosts line printed is the server's host key; its fingerprint is on stderr", async () => {
    const run = await hostkeys(['--target', `ssh://root@127.0.0.1:${sshd.port}`], { LC_SSH_CONFIG: sshd.config });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe(trusted());
    const { stdout: fingerprint } = await execa('ssh-keygen', ['-lf', join(dirname(sshd.config), 'host_key.pub')]);
    const sha256 = /SHA256:\S+/.exec(fingerprint)![0];
    expect(run.stderr).toContain(`127.0.0.1 (127.0.0.1 port ${sshd.port}): ED25519 ${sha256}`);
  });

  test('a host that does not answer and one behind a jump host are named; exit 1; the others printed', async () => {
    const closed = await freeLoopbackPort();
    writeFileSync(
      join(dir, 'class.yml'),
      [
        'class:',
        '  hosts:',
        `    lab-1: { ansible_host: 127.0.0.1, ansible_port: ${sshd.port} }`,
        `    lab-2: { ansible_host: 127.0.0.1, ansible_port: ${closed} }`,
        "    lab-3: { ansible_host: 10.0.0.3, ansible_ssh_common_args: '-o ProxyJump=grader@bastion:2222' }",
      ].join('\n'),
    );
    const run = await hostkeys(['--inventory', join(dir, 'class.yml')], { LC_SSH_CONFIG: sshd.config });
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stdout).toBe(trusted());
    expect(run.stderr).toMatch(
      new RegExp(`^lesson-check: lab-2 \\(127\\.0\\.0\\.1 port ${closed}\\): did not answer`, 'm'),
    );
    expect(run.stderr).toMatch(
      /^lesson-check: lab-3 \(10\.0\.0\.3 port 22\): not scanned: it is reached through ProxyJump grader@bastion:2222/m,
    );
    expect(run.stderr).toContain('lesson-check: the host keys of 1 of 3 hosts');
    // --limit as grade takes it
    const one = await hostkeys(['--inventory', join(dir, 'class.yml'), '--limit', 'lab-1'], {
      LC_SSH_CONFIG: sshd.config,
    });
    expect(one.exitCode, one.stderr).toBe(0);
    expect(one.stdout).toBe(trusted());
  });

  test('a known_hosts made from its output lets ssh in, in BatchMode with StrictHostKeyChecking', async () => {
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, '');
    // without the key: BatchMode cannot ask, so the host is unreachable (the teacher's problem)
    expect((await sshWith(sshd, knownHosts)).exitCode).toBe(255);
    const run = await hostkeys(['--target', `ssh://root@127.0.0.1:${sshd.port}`], { LC_SSH_CONFIG: sshd.config });
    expect(run.exitCode, run.stderr).toBe(0);
    writeFileSync(knownHosts, `${run.stdout}\n`);
    const ssh = await sshWith(sshd, knownHosts);
    expect(ssh.exitCode, ssh.stderr).toBe(0);
  });
});
