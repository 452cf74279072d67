// Profiles: the lesson's defaults, the sandbox layout under a prefix, and TOML overrides that
// are checked key by key and type by type.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { LESSON_VERSIONS, ProfileError, lessonProfile, loadProfile, sandboxProfile } from '../helpers/profile.ts';

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
      /`expect\.podinfoPort` must be a number/,
    );
  });

  test('malformed TOML names file, line and column', () => {
    const file = profileFile('prefix = "/srv/lab"\n[versions\n');
    expect(() => loadProfile(file)).toThrow(ProfileError);
    expect(() => loadProfile(file)).toThrow(new RegExp(`^${file}:2:\\d+: `));
  });
});
