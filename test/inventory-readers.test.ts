// One inventory, two readers: Ansible's (ansible-inventory, Debian's ansible-core, installed by
// the tests' set-up) and the built-in one must give the same hosts, groups and variables, and
// --limit the same hosts; what only Ansible reads (scripts, plugins, vaults) works through it;
// bad input is one line and exit 2.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { expect, test, vi } from 'vitest';
import { type InventoryReader, readInventory } from '../helpers/inventory/inventory.ts';
import { readWithAnsible } from '../helpers/inventory/ansible-reader.ts';
import { readStaticInventory } from '../helpers/inventory/static-reader.ts';
import { groupsOfHost } from '../helpers/inventory/tree.ts';
import { freeLoopbackPort } from '../helpers/offline/registry.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { lessonCheck } from './support/cli.ts';
import { check } from './support/reports.ts';
import { startSshd } from './sshd.ts';
import { ANSIBLE, AS_ROOT, SSHD, needs } from './support/requirements.ts';

const withAnsible = needs(ANSIBLE);

/** Writes files (path → text) under a fresh folder and returns it. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lc-inv-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

// vars at every level, set twice where precedence decides: all < group_vars/all < parent <
// child (depth) < group_vars/<group> < the host's own < host_vars/<host>; ranges, host:port,
// Python literals and quoting in INI, YAML 1.1 booleans, ansible_group_priority
const INI = `# the class
[all:vars]
ansible_user=root
level=all-inventory
only_all=1

[students]
alice ansible_host=10.0.0.1 ansible_port=2201 level=host-inventory
bob   ansible_host=10.0.0.2 ansible_become=False note="a b"  # a comment
lab[01:03].lab:2222 ansible_ssh_common_args='-o ProxyJump=grader@bastion:2222 -o "SetEnv=NOTE=a b"'

[students:vars]
team=students
level=students-inventory
quoted='single # not a comment'
number=0755

[late]
carol ansible_host=10.0.0.3 ansible_user=student
dave
alice

[late:vars]
team=late
ansible_group_priority=5
level=late-inventory

[class:children]
students
late

[class:vars]
level=class-inventory
class_only=yes
`;

const YAML = `all:
  vars:
    ansible_user: root
    level: all-inventory
  hosts:
    loner: { ansible_host: 10.0.0.9, ansible_become: no }
  children:
    class:
      vars: { level: class-inventory, class_only: yes }
      children:
        students:
          vars: { level: students-inventory, number: 0755, team: students }
          hosts:
            alice: { ansible_host: 10.0.0.1, ansible_port: 2201, level: host-inventory }
            bob: { ansible_become: off }
            lab[a:c]:2222:
        late:
          vars: { ansible_group_priority: 5, level: late-inventory, team: late }
          hosts:
            carol: { ansible_user: student }
            alice:
`;

const VARS_FOLDERS = {
  'group_vars/all.yml': 'level: group_vars-all\nfrom_all_file: true\n',
  'group_vars/students': 'level: group_vars-students\nfile_team: students\n',
  'group_vars/late/10-first.yml': 'level: group_vars-late\nlate_files: first\nfile_team: late\n',
  'group_vars/late/20-second.yaml': 'late_files: second\n',
  'group_vars/late/skipped.txt': 'late_files: never\n',
  'group_vars/class.json': '{"level": "group_vars-class", "ansible_ssh_private_key_file": "keys/grader"}',
  'host_vars/bob.yml': 'level: host_vars-bob\nansible_host: 10.0.0.20\n',
  'host_vars/carol/key.yml': 'ansible_ssh_private_key_file: /keys/carol\n',
};

const LIMITS = [
  'students',
  'c*',
  'class:!bob',
  'carol,alice',
  'students:&late',
  '~lab0[12]',
  'lab?.lab',
  '!late',
  'students[0]',
  'students[1:]',
  'students[0:1]',
  'late:nosuchgroup',
];

const hostsBy = async (path: string, reader: InventoryReader, limit?: string) => {
  const read = await readInventory(path, { reader, limit });
  return {
    hosts: read.hosts
      .map((h) => ({ ...h, groups: [...h.groups].sort() }))
      .sort((a, b) => a.target.name.localeCompare(b.target.name)),
    unmatched: read.unmatched,
  };
};

withAnsible.describe('the two readers agree', () => {
  for (const [kind, name, text] of [
    ['INI', 'class.ini', INI],
    ['YAML', 'class.yml', YAML],
  ] as const) {
    test(`${kind} with group_vars/ and host_vars/: the same hosts, groups and variables`, async () => {
      const dir = tree({ [name]: text, ...VARS_FOLDERS });
      const path = join(dir, name);
      const [ours, ansible] = await Promise.all([readStaticInventory(path), readWithAnsible(path, {})]);
      const view = (t: typeof ours) =>
        Object.fromEntries(
          [...t.hostVars].map(([h, vars]) => [h, { vars, groups: groupsOfHost(t, h).sort() }] as const),
        );
      expect(view(ours)).toEqual(view(ansible.tree));
      // the fixture does exercise precedence: each level wins somewhere
      const levels = new Set(Object.values(view(ours)).map((h) => h.vars.level));
      expect(levels.size).toBeGreaterThanOrEqual(3);
      // and ansible_group_priority: alice is in students and late, and late (priority 5) wins
      expect(view(ours).alice?.vars).toMatchObject({ team: 'late', file_team: 'late' });
      // and what lesson-check makes of them is the same
      expect(await hostsBy(path, 'built-in')).toEqual(await hostsBy(path, 'ansible'));
    });

    test(`${kind}: --limit patterns pick the same hosts`, async () => {
      const dir = tree({ [name]: text, ...VARS_FOLDERS });
      const path = join(dir, name);
      for (const limit of LIMITS) {
        const [ours, ansible] = await Promise.all([hostsBy(path, 'built-in', limit), hostsBy(path, 'ansible', limit)]);
        expect(
          { limit, hosts: ours.hosts.map((h) => h.target.name), unmatched: ours.unmatched },
          `--limit ${limit}`,
        ).toEqual({ limit, hosts: ansible.hosts.map((h) => h.target.name), unmatched: ansible.unmatched });
      }
    });
  }
});

withAnsible.describe('what only Ansible reads', () => {
  test('an INI file with its execute bit set (from a Windows share) is still a file to both readers', async () => {
    const dir = tree({ 'class.ini': '[class]\nlab-1 ansible_host=10.0.0.1\n' });
    chmodSync(join(dir, 'class.ini'), 0o755);
    const expected = [{ target: { name: 'lab-1', host: '10.0.0.1' }, groups: ['class'] }];
    expect((await hostsBy(join(dir, 'class.ini'), 'built-in')).hosts).toMatchObject(expected);
    expect((await hostsBy(join(dir, 'class.ini'), 'ansible')).hosts).toMatchObject(expected);
  });

  test('an executable inventory script works through Ansible; the built-in reader says Ansible is needed', async () => {
    const dir = tree({
      'class.sh': [
        '#!/bin/sh',
        `[ "$1" = --list ] || { echo '{}'; exit 0; }`,
        `echo '{"class": {"hosts": ["s1", "s2"], "vars": {"ansible_user": "grader"}},` +
          ` "_meta": {"hostvars": {"s1": {"ansible_host": "10.1.0.1"}}}}'`,
      ].join('\n'),
    });
    const script = join(dir, 'class.sh');
    chmodSync(script, 0o755);
    const read = await readInventory(script);
    expect(read.reader).toMatch(/^ansible-inventory \(ansible-core 2\.\d+/);
    expect(read.hosts.map((h) => [h.target.name, h.target.host, h.target.user, h.groups])).toEqual([
      ['s1', '10.1.0.1', 'grader', ['class']],
      ['s2', 's2', 'grader', ['class']],
    ]);
    await expect(readInventory(script, { reader: 'built-in' })).rejects.toThrow(
      /class\.sh is executable: an inventory script; reading it needs Ansible/,
    );
  });

  test('a constructed plugin inventory works through Ansible: its groups and composed variables', async () => {
    const dir = tree({
      'inventory/01-class.yml': 'students:\n  hosts:\n    alice: { ansible_port: 2201 }\n    bob: {}\n',
      'inventory/02-constructed.yml': [
        'plugin: ansible.builtin.constructed',
        'strict: true',
        'compose:',
        `  ansible_host: "'10.9.0.' ~ ((ansible_port | default(22)) | string)[-1:]"`,
        'groups:',
        '  own_port: ansible_port is defined',
      ].join('\n'),
    });
    const read = await readInventory(join(dir, 'inventory'), { limit: 'own_port' });
    expect(read.hosts.map((h) => [h.target.name, h.target.host, h.target.port, h.groups.sort()])).toEqual([
      ['alice', '10.9.0.1', 2201, ['own_port', 'students']],
    ]);
    await expect(readInventory(join(dir, 'inventory'), { reader: 'built-in' })).rejects.toThrow(
      /inventory is a folder of inventories; reading it needs Ansible/,
    );
  });

  test('templates in the honoured variables: Ansible renders them, locally; the built-in reader refuses', async () => {
    const dir = tree({
      'class.yml': [
        'class:',
        '  vars:',
        '    domain: lab.example',
        '    ansible_host: "{{ inventory_hostname }}.{{ domain }}"',
        '    ansible_port: "{{ 2200 + 1 }}"',
        '  hosts:',
        '    lab-1:',
        `    lab-2: { ansible_user: "{{ 'stu' ~ 'dent' }}" }`,
      ].join('\n'),
    });
    const read = await readInventory(join(dir, 'class.yml'));
    expect(read.hosts.map((h) => [h.target.name, h.target.host, h.target.port, h.target.user])).toEqual([
      ['lab-1', 'lab-1.lab.example', 2201, undefined],
      ['lab-2', 'lab-2.lab.example', 2201, 'student'],
    ]);
    await expect(readInventory(join(dir, 'class.yml'), { reader: 'built-in' })).rejects.toThrow(
      /lab-1: ansible_port is a Jinja template \(\{\{ 2200 \+ 1 \}\}\); the built-in reader does not render/,
    );
    // a template Ansible cannot render names the host and says why
    writeFileSync(join(dir, 'broken.yml'), 'class:\n  hosts:\n    lab-1: { ansible_host: "{{ nowhere }}" }\n');
    await expect(readInventory(join(dir, 'broken.yml'))).rejects.toThrow(
      /broken\.yml: host lab-1: Ansible could not render its variables: .*nowhere/,
    );
  });

  test('a vaulted ansible_ssh_private_key_file opens with --vault-password-file, and only with it', async () => {
    const dir = tree({ 'class.ini': '[class]\nalice ansible_host=10.0.0.1\n', 'vault-pass': 'sesame\n' });
    const pass = join(dir, 'vault-pass');
    const { stdout } = await execa('ansible-vault', [
      'encrypt_string',
      '--vault-password-file',
      pass,
      '--name',
      'ansible_ssh_private_key_file',
      '/keys/alice-vaulted',
    ]);
    mkdirSync(join(dir, 'host_vars'));
    writeFileSync(join(dir, 'host_vars', 'alice.yml'), `${stdout}\n`);
    // and a whole file vaulted: ansible-inventory opens that one itself
    mkdirSync(join(dir, 'group_vars'));
    writeFileSync(join(dir, 'group_vars', 'class.yml'), 'ansible_user: vaulted-user\n');
    await execa('ansible-vault', ['encrypt', '--vault-password-file', pass, join(dir, 'group_vars', 'class.yml')]);

    const read = await readInventory(join(dir, 'class.ini'), { vaultPasswordFile: pass });
    expect(read.hosts[0]!.target).toMatchObject({ identityFile: '/keys/alice-vaulted', user: 'vaulted-user' });
    await expect(readInventory(join(dir, 'class.ini'))).rejects.toThrow(/no vault secrets/);
    await expect(readInventory(join(dir, 'class.ini'), { reader: 'built-in' })).rejects.toThrow(
      /encrypted with ansible-vault; reading it needs Ansible/,
    );
    // no decrypted value is left behind in a temp file
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('lesson-check-ansible-'))).toEqual([]);
  });

  // issue 34: every inline-vaulted variable was decrypted, honoured or not, into temp files a
  // SIGKILL left behind, and --verbose echoed ansible-inventory's output, vaults in clear
  test('a vaulted variable lesson-check does not honour stays sealed; --verbose shows no clear text', async () => {
    const dir = tree({
      'class.ini': '[class]\nalice ansible_host=10.0.0.1\n',
      'vault-pass': 'sesame\n',
      'other-pass': 'not-ours\n',
    });
    const seal = async (name: string, value: string, pass: string) =>
      (
        await execa('ansible-vault', [
          'encrypt_string',
          '--vault-password-file',
          join(dir, pass),
          '--name',
          name,
          value,
        ])
      ).stdout;
    mkdirSync(join(dir, 'host_vars'));
    writeFileSync(
      join(dir, 'host_vars', 'alice.yml'),
      // the become password is sealed with a password lesson-check is never given
      `${await seal('ansible_user', 'vaulted-user', 'vault-pass')}\n` +
        `${await seal('ansible_become_password', 'hunter2', 'other-pass')}\n`,
    );
    mkdirSync(join(dir, 'group_vars'));
    writeFileSync(join(dir, 'group_vars', 'class.yml'), 'lesson_note: whole-file-secret\n');
    await execa('ansible-vault', [
      'encrypt',
      '--vault-password-file',
      join(dir, 'vault-pass'),
      join(dir, 'group_vars', 'class.yml'),
    ]);

    const echoed: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      echoed.push(String(chunk));
      return true;
    });
    process.env.LC_VERBOSE = '1';
    let read: Awaited<ReturnType<typeof readWithAnsible>>;
    try {
      read = await readWithAnsible(join(dir, 'class.ini'), { vaultPasswordFile: join(dir, 'vault-pass') });
    } finally {
      delete process.env.LC_VERBOSE;
      write.mockRestore();
    }
    const alice = read.tree.hostVars.get('alice')!;
    expect(alice.ansible_user).toBe('vaulted-user');
    expect(alice.ansible_host).toBe('10.0.0.1');
    // still sealed, as ansible-inventory printed it
    expect((alice.ansible_become_password as { __ansible_vault?: string }).__ansible_vault).toMatch(/^\$ANSIBLE_VAULT/);
    const shown = echoed.join('');
    expect(shown).toMatch(/^\$ ansible-inventory -i \S+ --list .*\(output not shown: it may hold secrets\)$/m);
    expect(shown).toMatch(/^\$ ansible-vault decrypt .*\(output not shown: it may hold secrets\)$/m);
    // one value to open: the honoured one
    expect(shown.match(/^\$ ansible-vault decrypt/gm)).toHaveLength(1);
    expect(shown).not.toContain('vaulted-user');
    expect(shown).not.toContain('whole-file-secret');
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('lesson-check-ansible-'))).toEqual([]);
  });
});

withAnsible.describe('through the command line', () => {
  const oneLine = (output: string) => output.split('\n').filter((l) => l.startsWith('lesson-check:'));

  // sshd on loopback, root logging in by key
  needs(AS_ROOT, SSHD).test(
    'ssh arguments from Ansible reach ssh as words; shell syntax in them runs nothing here',
    async () => {
      const sshd = await startSshd();
      try {
        const dir = tree({});
        const closed = await freeLoopbackPort();
        const marker = join(dir, 'pwned');
        const inventory = (commonArgs: string) => {
          writeFileSync(
            join(dir, 'class.yml'),
            [
              'class:',
              '  hosts:',
              '    lab-1:',
              '      ansible_host: 127.0.0.1',
              `      ansible_port: ${sshd.port}`,
              '      ansible_user: root',
              `      ansible_ssh_private_key_file: ${sshd.key}`,
              `      ansible_ssh_common_args: '${commonArgs}'`,
              `      ansible_ssh_extra_args: '-o SetEnv=LC_NOTE=$(touch\${IFS}${marker})\\;'`,
            ].join('\n'),
          );
          return lessonCheck(['grade', '--only', 'H1', '--inventory', join(dir, 'class.yml')], {
            LC_SSH_CONFIG: sshd.config,
          });
        };
        // the host answers; its shell-looking SetEnv value is sent as text
        const direct = await inventory('-o ConnectTimeout=5');
        expect(direct.exitCode, direct.output).toBe(0);
        expect(direct.output).toMatch(/inventory .*class\.yml read by ansible-inventory \(ansible-core/);
        // the reports say which reader read the inventory too
        // (one host: results.json is that host's report)
        const report = JSON.parse(readFileSync(join(direct.reportsDir, 'results.json'), 'utf8')) as RunReport;
        expect(report.inventory).toMatch(/class\.yml read by ansible-inventory \(ansible-core 2\./);
        expect(readFileSync(join(direct.reportsDir, 'junit.xml'), 'utf8')).toMatch(
          /<property name="inventory" value="inventory .*class\.yml read by ansible-inventory/,
        );
        // the same host behind a jump host that is not there: ssh took -o ProxyJump=… as its own option
        const jumped = await inventory(`-o ProxyJump=root@127.0.0.1:${closed} -o ConnectTimeout=5`);
        expect(jumped.exitCode, jumped.output).toBe(2);
        // it says why: ssh's own words, from whichever of the shared connection and the client held
        // them (a race), or that ssh said nothing; never an empty reason (issue 37: it was)
        const cause = check(jumped.report, 'H1').cause ?? '';
        expect(cause, jumped.output).toMatch(/^host unreachable: ssh to 127\.0\.0\.1: \S/);
        const sshSaid = /kex_exchange_identification|Connection closed|Connection refused|connect failed/;
        expect(cause, jumped.output).toMatch(new RegExp(`${sshSaid.source}|ssh exited 255 and said nothing`));
        expect(existsSync(marker)).toBe(false);
      } finally {
        await sshd.stop();
      }
    },
  );

  test('a broken inventory: Ansible own error, with the file, in one line, exit 2', async () => {
    const dir = tree({ 'class.ini': '[class]\nlab-1 ansible_port\n' });
    const run = await lessonCheck(['grade', '--inventory', join(dir, 'class.ini')]);
    expect(run.exitCode).toBe(2);
    expect(oneLine(run.output)).toEqual([
      `lesson-check: bad inventory: ${join(dir, 'class.ini')}: ansible-inventory could not read it: ` +
        `Failed to parse ${join(dir, 'class.ini')} with ini plugin: ${join(dir, 'class.ini')}:2: ` +
        'Expected key=value host variable assignment, got: ansible_port',
    ]);
  });

  test('an unknown group in --limit: one line naming it, exit 2', async () => {
    const dir = tree({ 'class.ini': '[class]\nlab-1 ansible_host=127.0.0.1\n' });
    const run = await lessonCheck(['grade', '--inventory', join(dir, 'class.ini'), '--limit', 'class:clas']);
    expect(run.exitCode).toBe(2);
    expect(oneLine(run.output).at(-1)).toBe(
      `lesson-check: bad inventory: --limit class:clas: no group or host is called 'clas' in ${join(dir, 'class.ini')}`,
    );
  });

  test('a script that exits non-zero: one line with what it said, exit 2', async () => {
    const dir = tree({ 'class.sh': '#!/bin/sh\necho "cloud API says: token expired" >&2\nexit 3\n' });
    chmodSync(join(dir, 'class.sh'), 0o755);
    const run = await lessonCheck(['grade', '--inventory', join(dir, 'class.sh')]);
    expect(run.exitCode).toBe(2);
    const lines = oneLine(run.output);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/class\.sh with script plugin: Inventory script .* had an execution error: cloud API/);
  });
});
