/**
 * Debian's OpenSSH server on a free loopback port, for the project's tests: a generated host key
 * and client key, root login by key only, and an ssh_config (LC_SSH_CONFIG) that trusts exactly
 * this server's host key. More ports may each get sshd settings of their own (`Match LocalPort`:
 * a Banner, a ForceCommand), as a student's own sshd could have.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { freeLoopbackPort } from '../helpers/lab/lab.ts';
import { Host } from '../helpers/host/host.ts';
import { LocalTransport } from '../helpers/host/transport.ts';

export interface Sshd {
  port: number;
  /** The extra ports, in the order of `StartOptions.ports`. */
  ports: number[];
  /** The client's private key (ansible_ssh_private_key_file). */
  key: string;
  /** The ssh_config to pass as LC_SSH_CONFIG. */
  config: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Per extra port, the sshd_config lines that hold on it alone (Banner, ForceCommand…). */
  ports?: string[][];
  /** ssh_config lines added for the client (a Host block of an alias). */
  clientConfig?: string[];
  /** More sshd_config lines, for every port (AcceptEnv, AllowAgentForwarding…). */
  serverConfig?: string[];
  /** A "host" of its own on this machine: sshd in a mount namespace of its own, after this shell
   * snippet has run there as root (a tmpfs on /run/lesson-check, the student's files in it). */
  ownMounts?: string;
  /** root's own HOME (and so its ~/.bashrc, run for every command sshd starts), as a stock sshd
   * has it: for the ssh benchmark. */
  stockHome?: boolean;
}

/** /run/netns as `ip netns add` leaves it, a shared mount (its first use does this on any host). */
const SHARED_NETNS =
  'ip netns add lc-sshd-netns-setup && ip netns delete lc-sshd-netns-setup; ' +
  'grep -q " /run/netns .*shared:" /proc/self/mountinfo';

export async function startSshd(options: StartOptions = {}): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'lc-sshd-'));
  chmodSync(dir, 0o700);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  const port = await freeLoopbackPort();
  const ports: number[] = [];
  while (ports.length < (options.ports ?? []).length) ports.push(await freeLoopbackPort());
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      ...ports.map((p) => `Port ${p}`),
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      // MaxSessions stays at sshd's default (10 per connection), as on a student's VM
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'MaxStartups 50',
      // bash sources ~/.bashrc for every command sshd runs; this machine's root .bashrc runs
      // `pyenv init` (0.6 s a command). A lab VM's would not: give sessions a HOME without one.
      ...(options.stockHome ? [] : [`SetEnv HOME=${dir}`]),
      ...(options.serverConfig ?? []),
      ...(options.ports ?? []).flatMap((lines, i) => [`Match LocalPort ${ports[i]}`, ...lines.map((l) => `  ${l}`)]),
      '',
    ].join('\n'),
  );
  const hostKey = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  writeFileSync(join(dir, 'known_hosts'), [port, ...ports].map((p) => `[127.0.0.1]:${p} ${hostKey}\n`).join(''));
  // ssh takes the first value it finds for an option: the extra Host blocks come first
  writeFileSync(
    join(dir, 'ssh_config'),
    [...(options.clientConfig ?? []), ''].join('\n') +
      `Host *\n  UserKnownHostsFile ${join(dir, 'known_hosts')}\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n`,
  );
  // sshd insists on an absolute path and on /run/sshd for privilege separation
  await execa('mkdir', ['-p', '/run/sshd']);
  const sshdArgv = ['/usr/sbin/sshd', '-D', '-e', '-f', join(dir, 'sshd_config')];
  // propagation unchanged: a shared /run/netns stays shared, so that the network namespaces the
  // checks make there are seen by containerd, outside; a mount made here on a private mount (a
  // tmpfs on /run/lesson-check) is this host's alone
  const argv = options.ownMounts
    ? ['unshare', '--mount', '--propagation', 'unchanged', 'sh', '-ec', `${options.ownMounts}\nexec "$@"`, 'sh']
    : [];
  argv.push(...sshdArgv);
  if (options.ownMounts) await execa('sh', ['-ec', SHARED_NETNS]);
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true });
  const host = new Host(new LocalTransport());
  await host.poll(
    `sshd listening on 127.0.0.1:${port}`,
    async () => {
      const r = await execa(
        'ssh',
        [
          '-F',
          join(dir, 'ssh_config'),
          '-o',
          'BatchMode=yes',
          '-i',
          join(dir, 'client_key'),
          '-p',
          String(port),
          'root@127.0.0.1',
          'true',
        ],
        { reject: false },
      );
      return r.exitCode === 0 ? true : undefined;
    },
    15_000,
    100,
  );
  return {
    port,
    ports,
    key: join(dir, 'client_key'),
    config: join(dir, 'ssh_config'),
    stop: () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      return Promise.resolve();
    },
  };
}
