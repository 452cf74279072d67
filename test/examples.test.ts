// Issue 35: examples/ is what a grader copies from, so it must never rot: every profile there
// loads with this version's loadProfile and sets what its comment says, and each class inventory
// reads, with the built-in reader (and Ansible's, where it is on PATH), to the same class, whose
// hosts' profiles load too. No root, no host: files only.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { type TargetHost, readInventory } from '../helpers/inventory/inventory.ts';
import { HONOURED_VARS } from '../helpers/inventory/tree.ts';
import { type Profile, lessonProfile, loadProfile } from '../helpers/profile.ts';
import { ROOT } from '../helpers/util/root.ts';
import { ANSIBLE, needs } from './support/requirements.ts';

const EXAMPLES = join(ROOT, 'examples');
const PROFILES = join(EXAMPLES, 'profiles');
const INVENTORIES = join(EXAMPLES, 'inventories');

const files = (dir: string, ends: RegExp) =>
  readdirSync(dir)
    .filter((f) => ends.test(f))
    .map((f) => join(dir, f));

/** The lesson profile with `change` made: what an example must load to, exactly. */
function lessonWith(change: (p: Profile) => void): Profile {
  const p = lessonProfile();
  change(p);
  return p;
}

/** What each example profile claims in its comment, as the profile it loads to. */
const PROFILE_CLAIMS: Record<string, Profile> = {
  'other-pins': lessonWith((p) => {
    p.name = 'other-pins';
    Object.assign(p.versions, { containerd: '2.2.2', runc: '1.4.1' });
  }),
  'image-mirror': lessonWith((p) => {
    p.name = 'image-mirror';
    p.images = {
      hello: 'registry.example.edu/ghcr/sagikazarmark/docker-hello-world:latest',
      podinfo: 'registry.example.edu/ghcr/stefanprodan/podinfo:latest',
    };
    p.paths.hostsDir = '/etc/containerd/certs.d';
  }),
  'no-nerdctl': lessonWith((p) => {
    p.name = 'no-nerdctl';
    p.unavailable.nerdctl = "this course's nodes have no nerdctl: the lesson's steps 5 and 7 are left out";
  }),
};

/** The class both inventories describe (class.ini's comments say why each host is as it is). */
const KEY = join(homedir(), '.ssh/class_ed25519');
const PROXY = ['-o', 'ProxyJump=grader@gw.example.edu'];
const CLASS: TargetHost[] = [
  { target: { name: 'lab-01', host: '192.0.2.11', user: 'student', identityFile: KEY }, groups: ['class', 'morning'] },
  { target: { name: 'lab-02', host: '192.0.2.12', user: 'student', identityFile: KEY }, groups: ['class', 'morning'] },
  {
    target: { name: 'lab-03', host: '192.0.2.13', user: 'student', identityFile: KEY },
    groups: ['class', 'morning'],
    profileFile: join(PROFILES, 'other-pins.toml'),
  },
  {
    target: { name: 'lab-04', host: '192.0.2.14', user: 'student', port: 2222, identityFile: KEY, sshOptions: PROXY },
    groups: ['afternoon', 'class'],
    profileFile: join(PROFILES, 'image-mirror.toml'),
  },
  {
    target: { name: 'lab-05', host: '192.0.2.15', user: 'root', identityFile: KEY, sshOptions: PROXY, become: false },
    groups: ['afternoon', 'class'],
    profileFile: join(PROFILES, 'image-mirror.toml'),
  },
  {
    target: { name: 'ws-01', host: '192.0.2.21', user: 'student', identityFile: KEY, become: { user: 'root' } },
    groups: ['class', 'workshop'],
    profileFile: join(PROFILES, 'no-nerdctl.toml'),
  },
];

/** Honoured variables the examples need not show: other spellings of ones they do. */
const ALIASES = [
  'ansible_ssh_host',
  'ansible_ssh_user',
  'ansible_ssh_port',
  'ansible_private_key_file',
  'ansible_ssh_extra_args',
];

/** Hosts in name order, their groups sorted and absent fields dropped, for comparing readers. */
function normalised(hosts: TargetHost[]): TargetHost[] {
  return JSON.parse(
    JSON.stringify(
      [...hosts]
        .sort((a, b) => a.target.name.localeCompare(b.target.name))
        .map((h) => ({ ...h, groups: [...h.groups].sort() })),
    ),
  ) as TargetHost[];
}

describe('examples/', () => {
  const profiles = files(PROFILES, /\.toml$/);
  const inventories = files(INVENTORIES, /\.(ini|ya?ml)$/);

  test('there are the profiles and inventories the docs point at', () => {
    expect(profiles.map((f) => basename(f, '.toml')).sort()).toEqual(Object.keys(PROFILE_CLAIMS).sort());
    expect(inventories.map((f) => basename(f)).sort()).toEqual(['class.ini', 'class.yml']);
  });

  test.each(profiles.map((f) => [basename(f), f]))(
    '%s loads with loadProfile to the lesson profile with just what its comment says changed',
    (_, file) => {
      expect(loadProfile(file)).toEqual(PROFILE_CLAIMS[basename(file, '.toml')]);
    },
  );

  const readerTests = (reader: 'built-in' | 'ansible') => () => {
    test.each(inventories.map((f) => [basename(f), f]))(
      '%s reads to the class, every host profile there and loading',
      async (_, file) => {
        const inventory = await readInventory(file, { reader });
        expect(normalised(inventory.hosts)).toEqual(normalised(CLASS));
        for (const h of inventory.hosts)
          if (h.profileFile) {
            expect(existsSync(h.profileFile), h.profileFile).toBe(true);
            expect(() => loadProfile(h.profileFile!)).not.toThrow();
          }
      },
    );
  };
  describe('inventories, built-in reader', readerTests('built-in'));
  needs(ANSIBLE).describe('inventories, ansible reader', readerTests('ansible'));

  test.each(inventories.map((f) => [basename(f), f]))('%s shows every variable lesson-check honours', (_, file) => {
    // set somewhere, not merely named in a comment
    const text = readFileSync(file, 'utf8').replace(/^\s*#.*$/gm, '');
    const shown = HONOURED_VARS.filter((v) => !ALIASES.includes(v));
    expect(shown.filter((v) => !new RegExp(`(^|[\\s{,])${v}\\s*[=:]`, 'm').test(text))).toEqual([]);
  });
});
