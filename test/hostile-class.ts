/**
 * A class with hostile hosts, reached over ssh as a real class is: Debian's sshd on loopback, and
 * one kept lab behind every host. The honest hosts are the lab as it is; each hostile one is the
 * same lab seen through a profile whose lesson binary is a script of its student's, or through
 * an sshd port of its own (a Banner, a login that prints escapes, every command answered after
 * 25 s). For the hostile-hosts test and `npm run bench:hostile`.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Sshd, startSshd } from './sshd.ts';

/** The issue's reproduction (clear the screen, a green "all passed", OSC 52 into the clipboard),
 * then a C1 CSI, a right-to-left override and invalid UTF-8. */
export const ESCAPES =
  String.raw`printf 'boom\033[2J\033[H\033[32m  ✓ all checks passed\033[0m\n\033]52;c;ZXZpbA==\007\n' >&2; ` +
  String.raw`printf '\302\23331m C1 CSI \342\200\256 reversed \377\376 invalid\n' >&2`;

export type Behaviour = 'honest' | 'escapes' | 'banner' | 'flood' | 'flood-forever' | 'trickle' | 'slow';

/** Each host of the class: its inventory name (some chosen to be hard on reports: a formula, a
 * path out of the reports, a name that differs from another only by case) and what it does. */
export const CLASS: Array<{ name: string; does: Behaviour }> = [
  { name: 'honest-a', does: 'honest' },
  { name: 'honest-b', does: 'honest' },
  { name: 'Honest-A', does: 'banner' },
  { name: '../../escaped', does: 'escapes' },
  { name: '@flood', does: 'flood' },
  { name: 'flood-forever', does: 'flood-forever' },
  { name: 'trickle', does: 'trickle' },
  { name: 'slow', does: 'slow' },
];

export interface HostileClass {
  sshd: Sshd;
  dir: string;
  /** The whole class, and the honest hosts alone. */
  inventory: string;
  honestInventory: string;
  /** The environment lesson-check needs to reach them (LC_SSH_CONFIG). */
  env: Record<string, string>;
  /** A hostile host's profile, for a run on this machine (verify --profile). */
  profileOf(does: Behaviour): string;
  stop(): Promise<void>;
}

/** Scripts in place of a lesson binary: each ignores its arguments. */
const SCRIPTS: Partial<Record<Behaviour, { binary: 'runc' | 'containerd'; body: string }>> = {
  // R2 sees it: containerd itself is the lab's, so the checks before runc pass
  escapes: { binary: 'runc', body: `${ESCAPES}; exit 3` },
  // 60 MB of NUL bytes without a newline: counted, not kept
  flood: { binary: 'containerd', body: 'head -c 60000000 /dev/zero' },
  // without end: stopped past the transport's limit
  'flood-forever': { binary: 'containerd', body: 'exec cat /dev/zero' },
  // one byte a second, stdout never closed
  trickle: { binary: 'containerd', body: 'while :; do printf .; sleep 1; done' },
};

export async function hostileClass(
  labProfile: string,
  hosts: Array<{ name: string; does: Behaviour }> = CLASS,
): Promise<HostileClass> {
  const dir = mkdtempSync(join(tmpdir(), 'lc-hostile-'));
  const script = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  writeFileSync(join(dir, 'banner'), 'welcome \u001b[2J\u001b]52;c;ZXZpbA==\u0007 \u202eevil\n');
  const loginEscapes = script('login-escapes', `${ESCAPES}\nexec sh -c "$SSH_ORIGINAL_COMMAND"`);
  // 25 s: just under a command's 30 s timeout, with room for ssh's own connecting under load (at
  // 29 s the first command, which also opens the connection, was seen to pass 30 s: then the host
  // is "unreachable", a fair report, but not the deadline this host is here to prove)
  const slowLogin = script('slow-login', 'sleep 25\nexec sh -c "$SSH_ORIGINAL_COMMAND"');
  const sshd = await startSshd({
    ports: [[`Banner ${join(dir, 'banner')}`, `ForceCommand ${loginEscapes}`], [`ForceCommand ${slowLogin}`]],
    // the banner is shown only at ssh's LogLevel INFO (its default; the tests' config says ERROR)
    // (its host key is known as [127.0.0.1]:port, as for every port of the test's sshd)
    clientConfig: ['Host banner-host', '  HostName 127.0.0.1', '  LogLevel INFO'],
  });
  const [bannerPort, slowPort] = sshd.ports as [number, number];
  const profileText = readFileSync(labProfile, 'utf8');
  const hostsYaml: string[] = [];
  for (const { name, does } of hosts) {
    let profile = labProfile;
    const swap = SCRIPTS[does];
    if (swap) {
      profile = join(dir, `${does}.toml`);
      writeFileSync(
        profile,
        `${profileText}\n[paths]\n${swap.binary} = ${JSON.stringify(script(`${swap.binary}-${does}`, swap.body))}\n`,
      );
    }
    const port = does === 'banner' ? bannerPort : does === 'slow' ? slowPort : sshd.port;
    const address = does === 'banner' ? 'banner-host' : '127.0.0.1';
    hostsYaml.push(
      `    ${JSON.stringify(name)}:`,
      `      ansible_host: ${address}`,
      `      ansible_port: ${port}`,
      `      lesson_check_profile: ${JSON.stringify(profile)}`,
    );
  }
  const inventory = (hosts: string[]) =>
    [
      'all:',
      '  vars:',
      '    ansible_user: root',
      `    ansible_ssh_private_key_file: ${sshd.key}`,
      '  hosts:',
      ...hosts,
      '',
    ].join('\n');
  writeFileSync(join(dir, 'class.yml'), inventory(hostsYaml));
  const honest = hosts.flatMap((h, i) => (h.does === 'honest' ? hostsYaml.slice(i * 4, i * 4 + 4) : []));
  writeFileSync(join(dir, 'honest.yml'), inventory(honest));
  return {
    sshd,
    dir,
    inventory: join(dir, 'class.yml'),
    honestInventory: join(dir, 'honest.yml'),
    env: { LC_SSH_CONFIG: sshd.config },
    profileOf: (does) => (SCRIPTS[does] ? join(dir, `${does}.toml`) : labProfile),
    stop: () => sshd.stop(),
  };
}
