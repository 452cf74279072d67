// The grade-class workflow's SSH set-up (scripts/class-secrets.sh): an empty or unreadable secret
// fails in one line naming it, before any host is tried; good ones land with ssh's modes; the
// inventory keeps the format the secret holds (issue 35: a YAML inventory was written to class.ini
// and read as INI, which fails).
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { ROOT } from '../helpers/util/root.ts';

async function classSecrets(env: Record<string, string>, name = 'class.ini') {
  const home = mkdtempSync(join(tmpdir(), 'lc-home-'));
  const output = join(home, 'github-output');
  const r = await execa('bash', [join(ROOT, 'scripts/class-secrets.sh'), join(home, name)], {
    env: { PATH: process.env.PATH!, HOME: home, GITHUB_OUTPUT: output, ...env },
    extendEnv: false,
    reject: false,
  });
  // the file the script wrote, as the workflow's next step is told it
  const said = existsSync(output) ? /^inventory=(.*)$/m.exec(readFileSync(output, 'utf8'))?.[1] : undefined;
  return { ...r, home, inventory: said ?? join(home, name) };
}

/** A key ssh can read, and host keys: the secrets that must be good for an inventory to land. */
async function goodKeys(): Promise<{ SSH_KEY: string; KNOWN_HOSTS: string }> {
  const keys = mkdtempSync(join(tmpdir(), 'lc-key-'));
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'k')]);
  return {
    SSH_KEY: readFileSync(join(keys, 'k'), 'utf8'),
    KNOWN_HOSTS: 'lab-1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample',
  };
}

describe('the class secrets', () => {
  test('empty secrets fail in one line naming each, exit 2', async () => {
    const r = await classSecrets({ INVENTORY: 'lab-1\n', SSH_KEY: '  \n', KNOWN_HOSTS: '' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      "class-secrets: empty secrets: GRADER_SSH_KEY CLASS_KNOWN_HOSTS (set them in the repository's settings)",
    ]);
  });

  test('a key ssh cannot read fails in one line, and is not left behind', async () => {
    const r = await classSecrets({ INVENTORY: 'lab-1\n', SSH_KEY: 'not a key', KNOWN_HOSTS: 'lab-1 ssh-ed25519 AAAA' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe(
      'class-secrets: GRADER_SSH_KEY is not a private key ssh can read without a passphrase',
    );
    expect(() => statSync(join(r.home, '.ssh/id_lesson_check'))).toThrow();
  });

  test('good secrets land with the modes ssh wants', async () => {
    const keys = mkdtempSync(join(tmpdir(), 'lc-key-'));
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'k')]);
    const r = await classSecrets({
      INVENTORY: '[class]\nlab-1 ansible_host=192.0.2.1\n',
      SSH_KEY: readFileSync(join(keys, 'k'), 'utf8'),
      KNOWN_HOSTS: 'lab-1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample',
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(statSync(join(r.home, '.ssh/id_lesson_check')).mode & 0o777).toBe(0o600);
    expect(readFileSync(r.inventory, 'utf8')).toContain('lab-1 ansible_host=192.0.2.1');
    expect(readFileSync(join(r.home, '.ssh/config'), 'utf8')).toContain('IdentityFile');
    // no vault password given: none written
    expect(() => statSync(join(r.home, '.ansible-vault-pass'))).toThrow();

    const vaulted = await classSecrets({
      INVENTORY: '[class]\nlab-1\n',
      SSH_KEY: readFileSync(join(keys, 'k'), 'utf8'),
      KNOWN_HOSTS: 'lab-1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample',
      VAULT_PASSWORD: 'sesame',
    });
    expect(vaulted.exitCode, vaulted.stderr).toBe(0);
    expect(readFileSync(join(vaulted.home, '.ansible-vault-pass'), 'utf8')).toBe('sesame\n');
    expect(statSync(join(vaulted.home, '.ansible-vault-pass')).mode & 0o777).toBe(0o600);
  });

  describe('the inventory keeps the format the secret holds', () => {
    const YAML =
      '# the class\nall:\n  children:\n    class:\n      hosts:\n        lab-1:\n          ansible_host: 192.0.2.1\n';
    const INI = '; the class\n[class]\nlab-1:2222 ansible_host=192.0.2.1\n';

    test('a YAML inventory (all: after its comments) lands in class.yml, and the step says so', async () => {
      const r = await classSecrets({ INVENTORY: YAML, ...(await goodKeys()) }, 'class');
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.inventory).toBe(join(r.home, 'class.yml'));
      expect(readFileSync(r.inventory, 'utf8')).toBe(YAML + '\n');
      expect(r.stdout).toContain(`the inventory (yaml) in ${r.inventory}`);
    });

    test("an INI inventory lands in class.ini: INI's host:port is no YAML key", async () => {
      const r = await classSecrets({ INVENTORY: INI, ...(await goodKeys()) }, 'class');
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.inventory).toBe(join(r.home, 'class.ini'));
    });

    test('YAML told by --- or a group of its own, and INI by a bare host line', async () => {
      const keys = await goodKeys();
      for (const [inventory, file] of [
        ['---\nclass:\n  hosts:\n    lab-1:\n', 'class.yml'],
        ['class:\n  hosts: {lab-1: }\n', 'class.yml'],
        ['lab-1 ansible_host=192.0.2.1\n', 'class.ini'],
      ] as const) {
        const r = await classSecrets({ INVENTORY: inventory, ...keys }, 'class');
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.inventory, inventory).toBe(join(r.home, file));
      }
    });

    test('an inventory vaulted whole keeps no extension: Ansible reads it as what it decrypts to', async () => {
      const r = await classSecrets({ INVENTORY: '$ANSIBLE_VAULT;1.1;AES256\n6162\n', ...(await goodKeys()) }, 'class');
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.inventory).toBe(join(r.home, 'class'));
    });

    test('INVENTORY_FORMAT overrides the first line; a name with an extension is kept; a bad format: 2', async () => {
      const keys = await goodKeys();
      const told = await classSecrets({ INVENTORY: 'lab-1\n', INVENTORY_FORMAT: 'yaml', ...keys }, 'class');
      expect(told.inventory).toBe(join(told.home, 'class.yml'));
      const named = await classSecrets({ INVENTORY: YAML, ...keys }, 'students.yaml');
      expect(named.inventory).toBe(join(named.home, 'students.yaml'));
      const bad = await classSecrets({ INVENTORY: YAML, INVENTORY_FORMAT: 'toml', ...keys }, 'class');
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr.trim()).toBe(
        "class-secrets: INVENTORY_FORMAT is 'toml': ini, yaml or auto (told by the inventory itself)",
      );
      // nothing was written before the format was known
      expect(existsSync(join(bad.home, '.ssh'))).toBe(false);
    });
  });
});
