// Profiles: the lesson's defaults, the sandbox layout under a prefix, and TOML overrides that
// are checked key by key and type by type; the TOML a run writes, and `lesson-check profile`'s,
// read back to the profile written.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { CATALOGUE } from '../helpers/checks/catalogue.ts';
import { main } from '../helpers/commands/cli.ts';
import { PROFILE_NOTES, lessonProfileToml } from '../helpers/commands/profile.ts';
import {
  LESSON_VERSIONS,
  ProfileError,
  lessonProfile,
  loadProfile,
  profileToml,
  sandboxProfile,
} from '../helpers/profile.ts';

function profileFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'lc-profile-')), 'profile.toml');
  writeFileSync(file, text);
  return file;
}

describe('profile', () => {
  test("lesson: the lesson's real paths and pins", () => {
    const p = lessonProfile();
    expect(p.paths.runc).toBe('/usr/local/sbin/runc');
    expect(p.paths.socket).toBe('/run/containerd/containerd.sock');
    expect(p.versions).toEqual(LESSON_VERSIONS);
    expect(p.service).toBe('systemd');
  });

  test('sandbox: the same layout under the prefix, supervised', () => {
    const p = sandboxProfile('/var/lib/lesson-check/labs/abc');
    expect(p.paths.runc).toBe('/var/lib/lesson-check/labs/abc/usr/local/sbin/runc');
    expect(p.paths.configToml).toBe('/var/lib/lesson-check/labs/abc/etc/containerd/config.toml');
    expect(p.service).toBe('supervised');
  });

  test('a TOML file with prefix at its top selects the sandbox and overrides values', () => {
    const p = loadProfile(profileFile('prefix = "/srv/lab"\n[versions]\nrunc = "1.1.5"\n'));
    expect(p.paths.ctr).toBe('/srv/lab/usr/local/bin/ctr');
    expect(p.versions.runc).toBe('1.1.5');
    expect(p.versions.containerd).toBe(LESSON_VERSIONS.containerd);
  });

  test('an unknown key is refused, naming it', () => {
    expect(() => loadProfile(profileFile('[versions]\nrunC = "1.4.0"\n'))).toThrow(/unknown key `versions\.runC`/);
  });

  test('a value of the wrong type is refused', () => {
    expect(() => loadProfile(profileFile('[expect]\npodinfoPort = "9898"\n'))).toThrow(
      /`expect\.podinfoPort` must be an integer, not "9898"/,
    );
    expect(() => loadProfile(profileFile('[expect]\npodinfoPort = 9898.5\n'))).toThrow(
      /must be an integer, not 9898.5/,
    );
    expect(() => loadProfile(profileFile('[expect]\ncniPlugins = "bridge"\n'))).toThrow(
      /`expect\.cniPlugins` must be an array of strings/,
    );
    expect(() => loadProfile(profileFile('[provenance]\nnotes = [1]\n'))).toThrow(
      /must be an array of strings, not \[1\]/,
    );
    expect(() => loadProfile(profileFile('paths = "/srv"\n'))).toThrow(/`paths` must be a table/);
  });

  test('service is "systemd" or "supervised", nothing else', () => {
    expect(loadProfile(profileFile('service = "supervised"\n')).service).toBe('supervised');
    expect(() => loadProfile(profileFile('service = "docker"\n'))).toThrow(
      /`service` must be "systemd" or "supervised", not "docker"/,
    );
  });

  test('malformed TOML names file, line and column', () => {
    const file = profileFile('prefix = "/srv/lab"\n[versions\n');
    expect(() => loadProfile(file)).toThrow(ProfileError);
    expect(() => loadProfile(file)).toThrow(new RegExp(`^${file}:2:\\d+: `));
  });
});

/** `main(args)` with stdout and stderr captured. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${a.join(' ')}\n`));
  const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${a.join(' ')}\n`));
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    log.mockRestore();
    err.mockRestore();
  }
}

describe('profiles as TOML', () => {
  test("a run's profile file (lab --keep, the walkthrough) reads back to what the run set", () => {
    const p = sandboxProfile('/var/lib/lesson-check/labs/abc');
    p.name = 'lab-abc';
    p.versions.runc = '1.4.1';
    p.expect.helloOutput = 'hello from the lab \\(stand-in\\)';
    p.expect.nerdctlSubnet = '10.213.7.0/24';
    p.unavailable.nerdctl = 'nerdctl is not available from the apt source';
    // what a release's notes may hold: quotes, backslashes, other scripts, a DEL that TOML wants escaped
    p.provenance = {
      source: 'apt',
      standInImages: true,
      podinfo: '',
      notes: ['a "quoted" \\ path', 'ünï 日本', 'del \x7f'],
    };
    const text = profileToml(p, ['lesson-check sandbox lab abc', 'versions: the pins']);
    expect(text).toMatch(/^# lesson-check sandbox lab abc\n# versions: the pins\nprefix = "\/var\/lib/);
    expect(text).not.toContain('[paths]');
    expect(loadProfile(profileFile(text))).toEqual(p);
  });

  test('lesson-check profile prints the lesson profile, every key under a comment, and it reads back', async () => {
    const run = await cli(['profile']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(lessonProfileToml());
    expect(loadProfile(profileFile(run.stdout))).toEqual(lessonProfile());
    const lines = run.stdout.split('\n');
    const written = lines.flatMap((line, i) => {
      const table = /^\[(\w+)\]$/.exec(line)?.[1];
      const key = /^(\w+) = /.exec(line)?.[1];
      if (!table && !key) return [];
      // the table a key is under: the last header above it
      const under = lines
        .slice(0, i)
        .reverse()
        .map((l) => /^\[(\w+)\]$/.exec(l)?.[1])
        .find(Boolean);
      expect(lines[i - 1], `above ${line}`).toMatch(/^# \S/);
      return [table ?? (under ? `${under}.${key}` : key!)];
    });
    // every key and table of the profile, each once, and a note for each
    const keys = (o: object, at = ''): string[] =>
      (Object.entries(o) as Array<[string, unknown]>).flatMap(([k, v]) => {
        const path = at ? `${at}.${k}` : k;
        return typeof v === 'object' && v !== null && !Array.isArray(v) ? [path, ...keys(v, path)] : [path];
      });
    expect([...written].sort()).toEqual(keys(lessonProfile()).sort());
    expect(Object.keys(PROFILE_NOTES).sort()).toEqual(keys(lessonProfile()).sort());
    // and the checks the notes name are the catalogue's
    const named = Object.values(PROFILE_NOTES).flatMap((n) => n.match(/\b[HCRNK]\d+\b/g) ?? []);
    expect(named.filter((id) => !CATALOGUE.some((c) => c.id === id))).toEqual([]);
  });

  test('lesson-check profile --help prints its usage and exits 0; an argument is a usage error', async () => {
    const help = await cli(['profile', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: lesson-check profile > my\.toml\n/);
    const extra = await cli(['profile', 'my.toml']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toMatch(/profile takes no arguments: my\.toml\nsee 'lesson-check profile --help'/);
    const usage = await cli(['--help']);
    expect(usage.stdout).toMatch(/^ {2}profile +the lesson's profile as commented TOML/m);
  });
});
