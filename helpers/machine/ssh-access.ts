/**
 * How lesson-check logs in to a machine or VM it made: a key pair of its own, the guest's sshd
 * host key made here and pinned, and an ssh_config in the machine's folder that says both — so
 * `ssh -F DIR/ssh_config ADDRESS` reaches that guest and no other, with no prompt.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';

export interface SshAccess {
  /** What the guest is, for the config's first line. */
  kind: 'machine' | 'VM';
  /** The guest's name, for that line and the keys' comments. */
  name: string;
  /** The machine's folder on this host: its key pair, known_hosts and ssh_config go here. */
  dir: string;
  /** The guest's root file system, or what is handed to it at boot: its host key and
   * /root/.ssh/authorized_keys go here. */
  guestRoot: string;
  /** Where this host reaches the guest's sshd. */
  address: string;
  /** Its port, when not 22 (a VM's forward on loopback). */
  port?: number;
}

/** Makes the guest's host key and lesson-check's key (no passphrase), authorizes the one and
 * pins the other, and writes `dir`/ssh_config. */
export async function makeSshAccess(host: Host, access: SshAccess): Promise<void> {
  const { dir, guestRoot, name } = access;
  const keygen = (comment: string, file: string) =>
    host.ensure(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  mkdirSync(join(guestRoot, 'etc/ssh'), { recursive: true });
  await keygen(`${name} host key`, join(guestRoot, 'etc/ssh/ssh_host_ed25519_key'));
  await keygen(`lesson-check to ${name}`, join(dir, 'id_ed25519'));
  mkdirSync(join(guestRoot, 'root/.ssh'), { recursive: true, mode: 0o700 });
  writeFileSync(join(guestRoot, 'root/.ssh/authorized_keys'), readFileSync(join(dir, 'id_ed25519.pub')), {
    mode: 0o600,
  });
  const hostKey = readFileSync(join(guestRoot, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8')
    .split(' ')
    .slice(0, 2)
    .join(' ');
  // known_hosts names a host on another port as [address]:port
  const known = access.port === undefined ? access.address : `[${access.address}]:${access.port}`;
  writeFileSync(join(dir, 'known_hosts'), `${known} ${hostKey}\n`);
  writeFileSync(
    join(dir, 'ssh_config'),
    [
      `# lesson-check ${access.kind} ${name}`,
      `Host ${access.address}`,
      ...(access.port === undefined ? [] : [`  Port ${access.port}`]),
      '  User root',
      `  IdentityFile ${join(dir, 'id_ed25519')}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
      '  StrictHostKeyChecking yes',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
}
