// Ansible inventories as graders have them (INI and YAML), --limit and --shard.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  type InventoryReader,
  InventoryError,
  limitTargets,
  readInventory,
  shardHosts,
  splitShellWords,
  targetsFromUrls,
} from '../helpers/inventory/inventory.ts';
import { type SshTarget, SshTransport, parseSshUrl, shellQuote } from '../helpers/host/ssh.ts';
import { ANSIBLE, needs } from './support/requirements.ts';

function file(name: string, text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'lc-inv-')), name);
  writeFileSync(f, text);
  return f;
}

const INI = `# a class
[all:vars]
ansible_user=root

[students]
alice ansible_host=10.0.0.1 ansible_port=2201 lesson_check_profile=profiles/alice.toml
bob   ansible_host=10.0.0.2

[students:vars]
ansible_ssh_private_key_file=keys/grader

[late]
carol ansible_host=10.0.0.3 ansible_user=student

[class:children]
students
late
`;

const YAML = `all:
  vars:
    ansible_user: root
  children:
    class:
      children:
        students:
          vars:
            ansible_ssh_private_key_file: keys/grader
          hosts:
            alice: { ansible_host: 10.0.0.1, ansible_port: 2201, lesson_check_profile: profiles/alice.toml }
            bob: { ansible_host: 10.0.0.2 }
        late:
          hosts:
            carol: { ansible_host: 10.0.0.3, ansible_user: student }
`;

// each reader on its own here; test/inventory-readers.test.ts compares them
const readerTests = (reader: InventoryReader) => () => {
  for (const [kind, text, name] of [
    ['INI', INI, 'hosts.ini'],
    ['YAML', YAML, 'hosts.yml'],
  ] as const) {
    test(`${kind}: hosts, ports, users, keys, profiles and groups, with vars inherited`, async () => {
      const f = file(name, text);
      const hosts = (await readInventory(f, { reader })).hosts.sort((a, b) =>
        a.target.name.localeCompare(b.target.name),
      );
      const dir = join(f, '..');
      expect(hosts.map((h) => h.target)).toEqual([
        { name: 'alice', host: '10.0.0.1', user: 'root', port: 2201, identityFile: join(dir, 'keys/grader') },
        { name: 'bob', host: '10.0.0.2', user: 'root', port: undefined, identityFile: join(dir, 'keys/grader') },
        { name: 'carol', host: '10.0.0.3', user: 'student', port: undefined, identityFile: undefined },
      ]);
      expect(hosts[0]!.profileFile).toBe(join(dir, 'profiles/alice.toml'));
      expect(hosts[0]!.groups.sort()).toEqual(['class', 'students']);
      expect(hosts[2]!.groups.sort()).toEqual(['class', 'late']);
    });
  }

  test('a malformed line is named by file and line', async () => {
    const f = file('bad.ini', '[students]\nalice ansible_port\n');
    const said = reader === 'built-in' ? `^${f}:2:\\d+: expected key=value` : `^${f}: .*${f}:2: Expected key=value`;
    await expect(readInventory(f, { reader })).rejects.toThrow(new RegExp(said));
    await expect(readInventory(f, { reader })).rejects.toThrow(InventoryError);
  });

  test('--limit picks by name or group, with globs and exclusions', async () => {
    const f = file('hosts.ini', INI);
    const names = async (limit: string) =>
      (await readInventory(f, { reader, limit })).hosts.map((h) => h.target.name).sort();
    expect(await names('students')).toEqual(['alice', 'bob']);
    expect(await names('c*')).toEqual(['alice', 'bob', 'carol']); // the group "class" matches everyone
    expect(await names('class:!bob')).toEqual(['alice', 'carol']);
    expect(await names('carol,alice')).toEqual(['alice', 'carol']);
    expect(await names('class:&late')).toEqual(['carol']);
    expect((await readInventory(f, { reader, limit: 'students:webz' })).unmatched).toEqual(['webz']);
  });
};
describe('inventories, built-in reader', readerTests('built-in'));
needs(ANSIBLE).describe('inventories, ansible reader', readerTests('ansible'));

describe('inventories', () => {
  test('--limit over --target hosts: by name, with globs and exclusions; a name not there is unmatched', () => {
    const hosts = targetsFromUrls(['ssh://lab-1', 'ssh://lab-2', 'ssh://other']);
    const names = (p: string) => limitTargets(hosts, p).hosts.map((h) => h.target.name);
    expect(names('lab-*:!lab-2')).toEqual(['lab-1']);
    expect(limitTargets(hosts, 'lab-1,lab-9').unmatched).toEqual(['lab-9']);
  });

  test('--shard splits deterministically and completely', () => {
    const hosts = targetsFromUrls(['ssh://e', 'ssh://a', 'ssh://d', 'ssh://c', 'ssh://b']);
    const one = shardHosts(hosts, '1/2').map((h) => h.target.name);
    const two = shardHosts(hosts, '2/2').map((h) => h.target.name);
    expect(one).toEqual(['a', 'c', 'e']);
    expect(two).toEqual(['b', 'd']);
    expect(() => shardHosts(hosts, '3/2')).toThrow(/--shard 3\/2/);
  });
});

describe('ssh targets and quoting', () => {
  test('ssh://user@host:port', () => {
    expect(parseSshUrl('ssh://student@lab-7.example:2222')).toEqual({
      name: 'lab-7.example',
      host: 'lab-7.example',
      user: 'student',
      port: 2222,
    });
    expect(parseSshUrl('ssh://[::1]:22')).toMatchObject({ host: '::1', port: 22 });
    expect(() => parseSshUrl('lab-7')).toThrow(/ssh:\/\//);
  });

  test('ansible_ssh_common_args and _extra_args reach ssh as words of their own, shell syntax as text', async () => {
    const f = file(
      'ssh-args.ini',
      [
        '[class]',
        'lab-1 ansible_host=10.0.0.1',
        '[class:vars]',
        `ansible_ssh_common_args='-o ProxyJump=grader@bastion:2222 -o "SetEnv=NOTE=a b"'`,
        `ansible_ssh_extra_args='-o UserKnownHostsFile=/tmp/$(touch /tmp/lc-pwned)\\;x'`,
        '',
      ].join('\n'),
    );
    const [host] = (await readInventory(f, { reader: 'built-in' })).hosts;
    expect(host!.target.sshOptions).toEqual([
      '-o',
      'ProxyJump=grader@bastion:2222',
      '-o',
      'SetEnv=NOTE=a b',
      '-o',
      'UserKnownHostsFile=/tmp/$(touch',
      '/tmp/lc-pwned);x',
    ]);
    const argv = new SshTransport(host!.target, '/tmp/unused').sshArgs();
    expect(argv.slice(-7)).toEqual(host!.target.sshOptions);
    expect(() => splitShellWords(`-o "ProxyJump=x`, 'lab-1')).toThrow(/lab-1: an unclosed " in -o "ProxyJump=x/);
  });

  test('ansible_become_user runs the commands as that user; ansible_become false runs them as the login', () => {
    const as = (become: SshTarget['become']) =>
      new SshTransport({ name: 'x', host: 'x', user: 'student', become }, '/tmp/unused').remoteCommand(['id']);
    expect(as(undefined)).toBe('sudo -n -- id');
    expect(as({ user: 'deploy' })).toBe('sudo -n -u deploy -- id');
    expect(as(false)).toBe('id');
    expect(new SshTransport({ name: 'x', host: 'x', user: 'root' }, '/tmp/unused').remoteCommand(['id'])).toBe('id');
  });

  test('the remote command quotes each word once; a non-root user goes through sudo -n', () => {
    const t = new SshTransport({ name: 'x', host: 'x', user: 'student' }, '/tmp/unused');
    expect(t.remoteCommand(['printf', '%s', "a b'c $(id); x"], { env: { CNI_COMMAND: 'VERSION' } })).toBe(
      `sudo -n -- env CNI_COMMAND=VERSION printf %s 'a b'\\''c $(id); x'`,
    );
    expect(shellQuote('')).toBe("''");
  });
});
