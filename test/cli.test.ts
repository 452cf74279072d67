// The command line's contract: usage errors and unusable profiles exit 2 and say which and why.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import type { RunReport } from '../helpers/reporters/model.ts';
import { parseSource } from '../helpers/sources/source-spec.ts';
import { lessonCheck } from './support/cli.ts';
import { NOT_SYSTEMD_INIT, needs } from './support/requirements.ts';

describe('lesson-check command line', () => {
  test('--verbose shows each command as it starts, and its output; without it, neither', async () => {
    const verbose = await lessonCheck(['verify', '--only', 'H2', '--verbose']);
    expect(verbose.exitCode, verbose.output).toBe(0);
    expect(verbose.output).toMatch(/^\$ uname -s -m\nLinux \S+$/m);
    const plain = await lessonCheck(['verify', '--only', 'H2']);
    expect(plain.exitCode, plain.output).toBe(0);
    expect(plain.output).not.toContain('$ uname');
  });

  test('an unknown option exits 2 in two lines: what is wrong, and where the usage is', async () => {
    const run = await lessonCheck(['verify', '--bogus']);
    expect(run.exitCode).toBe(2);
    expect(run.output.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^lesson-check: Unknown option '--bogus' for verify: it takes --profile, /),
      "see 'lesson-check verify --help'",
    ]);
  });

  test('a flag the command does not take is a usage error naming it, not ignored', async () => {
    for (const args of [
      ['verify', '--source', 'github'],
      ['grade', '--keep'],
      ['lab', '--only', 'R1'],
      ['merge', 'some-dir', '--yes'],
      ['clean', '--profile', 'lesson'],
    ]) {
      const run = await lessonCheck(args);
      expect(run.exitCode, args.join(' ')).toBe(2);
      expect(run.output).toContain(`Unknown option '${args[args[0] === 'merge' ? 2 : 1]}' for ${args[0]}`);
    }
  });

  test('class options without a class are a usage error', async () => {
    const run = await lessonCheck(['verify', '--shard', '1/2']);
    expect(run.exitCode).toBe(2);
    expect(run.output).toContain('--shard goes with --inventory or --target');
  });

  test("a VM's release: only with --vm, and only Debian 12 or 13", async () => {
    const alone = await lessonCheck(['machine', '--release', 'trixie']);
    expect(alone.exitCode, alone.output).toBe(2);
    expect(alone.output).toContain("--release chooses a VM's Debian: it needs --vm");
    const sid = await lessonCheck(['machine', '--vm', '--release', 'sid']);
    expect(sid.exitCode, sid.output).toBe(2);
    expect(sid.output).toContain('--release sid: a VM is Debian bookworm or trixie');
  });

  test('an unknown command exits 2', async () => {
    const run = await lessonCheck(['frobnicate']);
    expect(run.exitCode).toBe(2);
    expect(run.output).toContain('unknown command: frobnicate');
  });

  test('an unknown check ID in --only exits 2, naming it', async () => {
    const run = await lessonCheck(['verify', '--only', 'R1,Z9']);
    expect(run.exitCode).toBe(2);
    expect(run.output).toContain('unknown check ID in --only: Z9');
  });

  // issue 34: the checksums come from the mirror too, so over plain http anyone on the path
  // could swap assets and checksums alike
  test('a plain http:// mirror is refused in one line that says how to proceed, exit 2', async () => {
    const to = mkdtempSync(join(tmpdir(), 'lc-cli-'));
    const run = await lessonCheck(['fetch', '--to', to, '--mirror', 'http://mirror.example']);
    expect(run.exitCode, run.output).toBe(2);
    const said = run.output.split('\n').find((l) => l.startsWith('lesson-check: --mirror'));
    expect(said).toMatch(/^lesson-check: --mirror http:\/\/mirror\.example: plain http lets anyone on the path swap /);
    expect(said).toMatch(/: serve it over https, or add --insecure-mirror to take that risk$/);
    expect(readdirSync(to)).toEqual([]);
    const https = await lessonCheck(['fetch', '--to', to, '--mirror', 'https://mirror.example', '--insecure-mirror']);
    expect(https.exitCode, https.output).toBe(2);
    expect(https.output).toContain('--insecure-mirror goes with an http:// --mirror');
    const unknown = await lessonCheck(['fetch', '--to', to, '--mirror', 'ftp://mirror.example']);
    expect(unknown.exitCode, unknown.output).toBe(2);
    expect(unknown.output).toContain('--mirror ftp://mirror.example: give an https:// URL');
  });

  test('an http:// mirror is taken with --insecure-mirror, or on loopback', () => {
    expect(parseSource('github', { mirror: 'http://mirror.example/', insecureMirror: true })).toMatchObject({
      kind: 'github',
      base: 'http://mirror.example',
    });
    for (const mirror of ['http://127.0.0.1:8080', 'http://localhost:8080/', 'http://[::1]:8080'])
      expect(parseSource('github', { mirror })).toMatchObject({ kind: 'github', base: mirror.replace(/\/$/, '') });
    // a name that merely starts like a loopback one is not
    expect(() => parseSource('github', { mirror: 'http://127.0.0.1.evil.example' })).toThrow(/--insecure-mirror/);
    expect(() => parseSource('github', { mirror: 'http://localhost.evil.example' })).toThrow(/--insecure-mirror/);
  });

  test('a missing profile file exits 2, naming it', async () => {
    const run = await lessonCheck(['verify', '--profile', '/nonexistent/profile.toml']);
    expect(run.exitCode).toBe(2);
    expect(run.output).toMatch(/bad profile: \/nonexistent\/profile.toml: cannot read profile: ENOENT: no such file/);
  });

  test('a malformed profile exits 2 with file, line and column', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lc-cli-')), 'bad.toml');
    writeFileSync(file, 'prefix = "/srv/lab"\n[versions]\nrunc = 1.4.0.1\n');
    const run = await lessonCheck(['grade', '--profile', file]);
    expect(run.exitCode).toBe(2);
    expect(run.output).toMatch(new RegExp(`bad profile: ${file}:3:\\d+: `));
  });
});

describe('reports that cannot be written', () => {
  test('the console still shows the results, one line names the folder and why, exit 2', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lc-cli-')), 'a-file');
    writeFileSync(file, '');
    const run = await execa(
      process.execPath,
      [
        join(import.meta.dirname, '../bin/lesson-check.js'),
        'verify',
        '--only',
        'H2',
        '--reports',
        join(file, 'reports'),
      ],
      { reject: false, env: { NO_COLOR: '1' } },
    );
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stdout).toMatch(/^1 passed, 0 failed, 0 errors, 0 skipped/m);
    expect(
      run.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('lesson-check: the reports could not be written')),
    ).toEqual([
      `lesson-check: the reports could not be written to ${join(file, 'reports')}: ` +
        `${join(file, 'reports')}: ENOTDIR not a directory, mkdir '${join(file, 'reports')}'`,
    ]);
  });

  test('a verify by a user who may not write /run still runs (H1 fails), and leaves no run record', async () => {
    const runs = () => (existsSync('/run/lesson-check/runs') ? readdirSync('/run/lesson-check/runs') : []);
    const asNobody = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    // the tests' own temp folder is root's alone: this user's reports go to /tmp
    const reports = mkdtempSync('/tmp/lc-cli-nobody-');
    await execa('chmod', ['777', reports]);
    try {
      const run = await execa(
        asNobody[0] ?? process.execPath,
        [
          ...asNobody.slice(1),
          ...(asNobody.length ? [process.execPath] : []),
          join(import.meta.dirname, '../bin/lesson-check.js'),
          'verify',
          '--only',
          'H1,H2',
          '--reports',
          reports,
        ],
        { reject: false, cwd: '/', env: { NO_COLOR: '1', TMPDIR: '/tmp' } },
      );
      expect(run.exitCode, run.stderr).toBe(1);
      expect(run.stdout).toMatch(/^1 passed, 1 failed/m);
      // its own record (other runs on this host come and go meanwhile)
      const { runId } = JSON.parse(readFileSync(join(reports, 'results.json'), 'utf8')) as RunReport;
      expect(runId).toMatch(/^[0-9a-f]{6}$/);
      expect(runs()).not.toContain(`${runId}.json`);
    } finally {
      rmSync(reports, { recursive: true, force: true });
    }
  });
});

describe('lesson-check walkthrough guards the host', () => {
  test('without --yes (and without CI=true) it refuses, exit 2', async () => {
    const run = await lessonCheck(['walkthrough'], { CI: 'false' });
    expect(run.exitCode).toBe(2);
    expect(run.output).toMatch(/THIS host; say --yes/);
  });

  // only where systemd is not init: elsewhere --yes would really walk this host
  needs(NOT_SYSTEMD_INIT).test('on a host whose init is not systemd it refuses, exit 2', async () => {
    const run = await lessonCheck(['walkthrough', '--yes']);
    expect(run.exitCode).toBe(2);
    expect(run.output).toMatch(/systemd is not this host's init/);
  });
});
