// The github source for real, offline: a loopback mirror laid out like github.com, holding the
// go source's builds of the lesson's releases; the lab downloads, verifies checksums, unpacks
// with the lesson's own tar flags and installs, and every check passes at the lesson's own
// version numbers. Then the same assets gathered by `fetch` and used with no network at all.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CATALOGUE } from '../helpers/checks/catalogue.ts';
import { lessonAssets } from '../helpers/sources/github-source.ts';
import { LESSON_VERSIONS } from '../helpers/profile.ts';
import { type LabRun, lessonCheck, runLab } from './support/cli.ts';
import { type Traces, labTraces } from './support/traces.ts';
import { type Mirror, buildMirror, serveMirror } from './mirror.ts';
import { AS_ROOT, needs } from './support/requirements.ts';

/** The outcome the mirror must give: every check passes, at the lesson's pins. */
function expectAllPass(run: LabRun): void {
  expect(run.exitCode, run.output).toBe(0);
  expect(run.report!.checks.map((c) => [c.id, c.state])).toEqual(CATALOGUE.map(({ id }) => [id, 'passed']));
  expect(run.report!.versions).toMatchObject({
    containerd: LESSON_VERSIONS.containerd,
    runc: LESSON_VERSIONS.runc,
    nerdctl: LESSON_VERSIONS.nerdctl,
    cniPlugins: LESSON_VERSIONS.cniPlugins,
  });
  // the lesson's own commands ran: tar xzvofC into /usr/local and into /opt/cni/bin
  const c1 = run
    .report!.checks.find((c) => c.id === 'C1')!
    .transcript.map((e) => e.command)
    .join('\n');
  expect(c1).toMatch(/^tar xzvofC \S+containerd-2\.2\.1-linux-(amd64|arm64)\.tar\.gz \S+\/usr\/local$/m);
}

needs(AS_ROOT).describe('the github source, through a loopback mirror', { timeout: 300_000 }, () => {
  let mirror: Mirror;
  let before: Traces;
  const cache = { LC_GITHUB_CACHE_DIR: mkdtempSync(join(tmpdir(), 'lc-github-cache-')) };

  beforeAll(async () => {
    before = await labTraces();
    mirror = await serveMirror(await buildMirror());
  }, 300_000);
  afterAll(async () => {
    await mirror?.close();
  });

  test("the lab installs from the mirror and every check passes at the lesson's pins", async () => {
    const run = await runLab(['--source', 'github', '--mirror', mirror.url], undefined, cache);
    expectAllPass(run);
    expect(run.report!.source).toBe(`github (mirror ${mirror.url})`);
    expect(run.report!.notes.join('\n')).toMatch(
      /containerd-2\.2\.1-linux-\w+\.tar\.gz: sha256 verified against containerd-2\.2\.1-linux-\w+\.tar\.gz\.sha256sum/,
    );
    expect(await labTraces()).toEqual(before);
  });

  test('fetch --to DIR, then --source dir:DIR with the mirror gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-assets-'));
    const fetched = await lessonCheck(['fetch', '--to', dir, '--source', 'github', '--mirror', mirror.url], cache);
    expect(fetched.exitCode, fetched.output).toBe(0);
    const offline = await serveMirror(mirror.root);
    await offline.close(); // nothing is listening anywhere we could reach now
    const run = await runLab(['--source', `dir:${dir}`], undefined, {
      LC_GITHUB_CACHE_DIR: mkdtempSync(join(tmpdir(), 'lc-empty-cache-')),
    });
    expectAllPass(run);
    expect(run.report!.source).toBe(`dir:${dir}`);
  });

  test('a download whose checksum does not match is refused: setup error, exit 2', async () => {
    const root = await buildMirror();
    const cni = lessonAssets().find((a) => a.role === 'cni')!;
    const file = join(root, cni.path);
    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from('tampered')]));
    const tampered = await serveMirror(root);
    try {
      const run = await runLab(['--source', 'github', '--mirror', tampered.url], undefined, cache);
      expect(run.exitCode).toBe(2);
      expect(run.output).toMatch(/checksum mismatch for cni-plugins-linux-\w+-v1\.9\.0\.tgz/);
      expect(await labTraces()).toEqual(before);
    } finally {
      await tampered.close();
    }
  });
});
