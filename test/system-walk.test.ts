// A runner's leftovers (issue: GitHub's ubuntu-24.04 carries containerd.io, Docker and runc): the
// walkthrough refuses them in one line naming them and the flag, and --set-aside-leftovers moves
// them aside for the walk and puts them back over what the walk wrote. On real files, in a folder
// laid out like the lesson's paths.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Host } from '../helpers/host/host.ts';
import { SystemWalk, findLeftovers, leftoversRefusal } from '../helpers/walk/system-walk.ts';
import { type Profile, lessonProfile } from '../helpers/profile.ts';
import { LocalTransport } from '../helpers/host/transport.ts';

/** The lesson's profile with its paths under a fresh folder. */
function profileUnder(root: string): Profile {
  const profile = lessonProfile();
  const paths = Object.fromEntries(
    Object.entries(profile.paths).map(([k, v]) => [k, typeof v === 'string' && v.startsWith('/') ? join(root, v) : v]),
  );
  return { ...profile, paths: paths as Profile['paths'] };
}

function put(path: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

describe("a runner's leftovers", () => {
  const host = new Host(new LocalTransport());

  test("containerd.io's config.toml is another runtime's: refused without the flag", async () => {
    const root = mkdtempSync(join(tmpdir(), 'lc-leftovers-'));
    const profile = profileUnder(root);
    put(profile.paths.configToml, '# containerd.io\ndisabled_plugins = ["cri"]\n');
    const leftovers = await findLeftovers(host, profile);
    expect(leftovers.atLessonPaths).toEqual([]);
    expect(leftovers.otherConfigs).toEqual([profile.paths.configToml]);
    const refusal = leftoversRefusal(leftovers, false);
    expect(refusal).toContain(profile.paths.configToml);
    expect(refusal).toContain('--set-aside-leftovers');
    expect(refusal).not.toContain('\n');
    expect(leftoversRefusal(leftovers, true)).toBeUndefined();
  });

  test("the lesson's own binaries are refused whatever the flag: the walk needs a fresh host", async () => {
    const root = mkdtempSync(join(tmpdir(), 'lc-leftovers-'));
    const profile = profileUnder(root);
    put(profile.paths.configToml, 'version = 3\n');
    put(profile.paths.containerd, '#!/bin/sh\n', 0o755);
    const leftovers = await findLeftovers(host, profile);
    expect(leftovers.atLessonPaths).toEqual([profile.paths.containerd]);
    expect(leftovers.otherConfigs).toEqual([]);
    expect(leftoversRefusal(leftovers, true)).toMatch(/already has the lesson's files: .*containerd/);
  });

  test('set aside for the walk, then put back over what the walk wrote', () => {
    const root = mkdtempSync(join(tmpdir(), 'lc-leftovers-'));
    const profile = profileUnder(root);
    const config = profile.paths.configToml;
    const runc = join(root, 'usr/sbin/runc');
    put(config, '# containerd.io\n');
    put(runc, 'distribution runc', 0o755);
    const walk = SystemWalk.create(
      join(root, 'walk.json'),
      { release: { files: {}, missing: {}, notes: [], source: 'dir' } as never, workDir: root, setAside: [] },
      host,
      profile,
    );
    return walk.setAside({ atLessonPaths: [], otherConfigs: [config], runcOnPath: [runc], services: [] }).then(() => {
      expect(existsSync(config)).toBe(false);
      expect(existsSync(runc)).toBe(false);
      // the walk writes the lesson's own config where containerd.io's was
      put(config, 'version = 3\n');
      // a walkthrough killed and started again finds its state in walk.json
      expect(SystemWalk.open(join(root, 'walk.json'), host, profile).restore().sort()).toEqual([config, runc].sort());
      expect(readFileSync(config, 'utf8')).toBe('# containerd.io\n');
      expect(readFileSync(runc, 'utf8')).toBe('distribution runc');
    });
  });
});
