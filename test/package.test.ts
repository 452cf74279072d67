// lesson-check as an operator installs it (issue 35): `npm pack`, `npm install -g` of the tarball
// into a prefix of its own, and the installed command run from a folder that is not the checkout.
// As root, also as a user who cannot write the root-installed package (the bundles and vitest's
// cache go to that user's ~/.cache), and the lab end to end from the installed package, which
// finds the lesson's releases in the cache the tests' global set-up filled (test/go-assets.ts).
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CATALOGUE } from '../helpers/checks/catalogue.ts';
import { LESSON_VERSIONS } from '../helpers/profile.ts';
import type { RunReport } from '../helpers/reporters/model.ts';
import { ROOT } from '../helpers/util/root.ts';
import { NPM_REGISTRY, AS_ROOT, needs } from './support/requirements.ts';

/** Debian's nobody and nogroup: a user with no say over a package root installed. */
const NOBODY = 65534;

interface Installed {
  /** The folder everything of this test is in: the tarball, the prefix, the user's home. */
  base: string;
  files: string[];
  bin: string;
  /** The installed package: <prefix>/lib/node_modules/lesson-check. */
  pkg: string;
  installMs: number;
}

/** `npm pack` of the checkout into `base`, then `npm install -g` of the tarball into base/prefix. */
async function packAndInstall(base: string): Promise<Installed> {
  const packed = await execa('npm', ['pack', '--json', '--pack-destination', base], { cwd: ROOT });
  const [tarball] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const prefix = join(base, 'prefix');
  const started = Date.now();
  // the registry for the dependencies' metadata, npm's cache (filled by npm ci) for their tarballs
  const args = ['install', '-g', join(base, tarball!.filename), '--prefix', prefix, '--no-audit', '--no-fund'];
  const install = await execa('npm', [...args, '--prefer-offline'], { cwd: base, reject: false, all: true });
  if (install.exitCode !== 0) throw new Error(`npm ${args.join(' ')} exited ${install.exitCode}:\n${install.all}`);
  return {
    base,
    files: tarball!.files.map((f) => f.path),
    bin: join(prefix, 'bin', 'lesson-check'),
    pkg: join(prefix, 'lib', 'node_modules', 'lesson-check'),
    installMs: Date.now() - started,
  };
}

/** The installed `lesson-check ARGS`, from a folder of its own (not the checkout), never throwing. */
function installed(pkg: Installed, args: string[], opts: { uid?: number; env?: Record<string, string> } = {}) {
  const cwd = mkdtempSync(join(pkg.base, 'cwd-'));
  const env = { NO_COLOR: '1', ...opts.env };
  if (opts.uid === undefined) return execa(pkg.bin, args, { cwd, env, reject: false, all: true });
  chmodSync(cwd, 0o777);
  const as = ['--reuid', String(opts.uid), '--regid', String(opts.uid), '--clear-groups'];
  return execa('setpriv', [...as, pkg.bin, ...args], { cwd, env, reject: false, all: true });
}

function results(reports: string): RunReport {
  return JSON.parse(readFileSync(join(reports, 'results.json'), 'utf8')) as RunReport;
}

function states(report: RunReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c.state]));
}

needs(NPM_REGISTRY).describe('the package, installed with npm install -g', { timeout: 120_000 }, () => {
  let pkg: Installed;

  beforeAll(async () => {
    // under /tmp itself, not the tests' TMPDIR (0700): the unprivileged user below must reach it
    const base = mkdtempSync(join('/tmp', 'lc-package-'));
    chmodSync(base, 0o755);
    pkg = await packAndInstall(base);
    process.stderr.write(`package: npm install -g of the tarball took ${(pkg.installMs / 1000).toFixed(1)} s\n`);
  }, 300_000);

  afterAll(() => {
    if (pkg) rmSync(pkg.base, { recursive: true, force: true });
  });

  test('the tarball holds what the command runs, and none of the project’s own tests or benches', () => {
    for (const f of ['bin/lesson-check.js', 'bin/bundle.js', 'helpers/commands/cli-entry.ts', 'suites/lesson.test.ts'])
      expect(pkg.files).toContain(f);
    expect(pkg.files).toContain('scripts/install-deps.sh');
    expect(pkg.files.filter((f) => /^(test|bench|\.github|\.ci|reports)\//.test(f))).toEqual([]);
  });

  test('lesson-check --version answers from another folder with the lesson pins, exit 0', async () => {
    const r = await installed(pkg, ['--version']);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toMatch(/^lesson-check \d+\.\d+\.\d+/);
    expect(r.stdout).toContain(LESSON_VERSIONS.containerd);
  });

  test('lesson-check pins answers from another folder, exit 0', async () => {
    const r = await installed(pkg, ['pins']);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toContain(`containerd=${LESSON_VERSIONS.containerd}`);
  });

  test('verify --list lists every check of the catalogue, R1 among them, exit 0', async () => {
    const r = await installed(pkg, ['verify', '--list', '--format', 'plain']);
    expect(r.exitCode, r.all).toBe(0);
    const ids = r.stdout.split('\n').map((line) => line.split(' ')[0]);
    expect(ids).toContain('R1');
    expect(new Set(ids.filter(Boolean))).toEqual(new Set(CATALOGUE.map((c) => c.id)));
  });

  test('its bundles are cached in the package it installed (which this user may write)', () => {
    const cache = join(pkg.pkg, 'node_modules', '.cache', 'lesson-check');
    expect(readdirSync(cache).filter((n) => /^[0-9a-f]{16}$/.test(n)).length).toBeGreaterThan(0);
    // vitest's module cache is beside them, not in node_modules/.experimental-vitest-cache
    expect(existsSync(join(cache, 'vitest'))).toBe(true);
  });

  // setpriv to another user, and a lab, need root
  needs(AS_ROOT).describe('as root', () => {
    let home: string;
    const asNobody = (args: string[]) =>
      installed(pkg, args, { uid: NOBODY, env: { HOME: home, TMPDIR: join(home, 'tmp'), XDG_CACHE_HOME: '' } });

    beforeAll(() => {
      home = join(pkg.base, 'home');
      mkdirSync(join(home, 'tmp'), { recursive: true });
      for (const d of [home, join(home, 'tmp')]) chownSync(d, NOBODY, NOBODY);
      // a build the package holds already would be reused: the user must build one of its own
      rmSync(join(pkg.pkg, 'node_modules', '.cache'), { recursive: true, force: true });
    });

    test('a user who cannot write the package lists the checks, its caches in ~/.cache/lesson-check', async () => {
      const r = await asNobody(['verify', '--list']);
      expect(r.exitCode, r.all).toBe(0);
      expect(r.stdout).toMatch(/^R1 /m);
      const cache = join(home, '.cache', 'lesson-check');
      expect(readdirSync(cache).filter((n) => /^[0-9a-f]{16}$/.test(n)).length).toBeGreaterThan(0);
      expect(existsSync(join(cache, 'vitest'))).toBe(true);
      // nothing was written into the package
      const written = await execa('find', [pkg.pkg, '-uid', String(NOBODY)]);
      expect(written.stdout).toBe('');
    });

    test('that user runs the suites from the read-only package: H1 fails (not root), H2 passes, exit 1', async () => {
      const reports = join(home, 'reports');
      const r = await asNobody(['verify', '--only', 'H1,H2', '--reports', reports]);
      expect(r.exitCode, r.all).toBe(1);
      expect(states(results(reports))).toEqual({ H1: 'failed', H2: 'passed' });
    });

    test(
      'lesson-check lab from the installed package exits 0 with all 20 checks passed',
      { timeout: 600_000 },
      async () => {
        const reports = join(pkg.base, 'lab-reports');
        const r = await installed(pkg, ['lab', '--reports', reports]);
        expect(r.exitCode, r.all).toBe(0);
        expect(states(results(reports))).toEqual(Object.fromEntries(CATALOGUE.map(({ id }) => [id, 'passed'])));
        expect(r.stdout).toMatch(/^20 passed, 0 failed/m);
      },
    );
  });
});
