// The grade-class workflow's SSH set-up (scripts/class-secrets.sh): an empty or unreadable secret
// fails in one line naming it, before any host is tried; good ones land with ssh's modes.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { ROOT } from '../helpers/root.ts';

async function classSecrets(env: Record<string, string>) {
  const home = mkdtempSync(join(tmpdir(), 'lc-home-'));
  const inventory = join(home, 'class.ini');
  const r = await execa('bash', [join(ROOT, 'scripts/class-secrets.sh'), inventory], {
    env: { PATH: process.env.PATH!, HOME: home, ...env },
    extendEnv: false,
    reject: false,
  });
  return { ...r, home, inventory };
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
});
