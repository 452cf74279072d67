// The go source, as root: the lesson's releases built from their Go modules are packed as
// upstream's release assets, file for file; `fetch --to DIR --source go` makes a folder a lab uses
// with no network (the real podinfo included); a tampered built asset is refused like a tampered
// download; and bad input (no Go, a module proxy that does not answer, a pin that does not exist)
// gives one clear line, exit 2, and leaves nothing behind.
import { execa } from 'execa';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { CATALOGUE } from '../helpers/checks/catalogue.ts';
import { Host } from '../helpers/host/host.ts';
import { type GoAssets, PODINFO, buildGoAssets } from '../helpers/sources/go-source.ts';
import { LESSON_VERSIONS } from '../helpers/profile.ts';
import { LocalTransport } from '../helpers/host/transport.ts';
import { freeLoopbackPort } from '../helpers/lab/lab.ts';
import { lessonCheck, runLab } from './support/cli.ts';
import { type Traces, labTraces } from './support/traces.ts';
import { AS_ROOT, needs } from './support/requirements.ts';

const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';

async function tarList(file: string): Promise<string[]> {
  return (await execa('tar', ['tzf', file])).stdout
    .split('\n')
    .filter((l) => l && !l.endsWith('/'))
    .map((l) => l.replace(/^\.\//, ''))
    .sort();
}

needs(AS_ROOT).describe('the go source', { timeout: 300_000 }, () => {
  let built: GoAssets;
  let before: Traces;

  beforeAll(async () => {
    before = await labTraces();
    // built by the tests' global setup (test/go-assets.ts): this finds it in the cache
    built = await buildGoAssets(new Host(new LocalTransport()), { ...LESSON_VERSIONS });
  }, 3_600_000);

  test("packs the lesson's release assets as upstream does: names, tar layouts, checksum files", async () => {
    const f = built.files;
    expect(f.containerd).toMatch(new RegExp(`/containerd-2\\.2\\.1-linux-${arch}\\.tar\\.gz$`));
    expect(await tarList(f.containerd!)).toEqual([
      'bin/containerd',
      'bin/containerd-shim-runc-v2',
      'bin/containerd-stress',
      'bin/ctr',
    ]);
    expect(await tarList(f.nerdctl!)).toEqual([
      'containerd-rootless-setuptool.sh',
      'containerd-rootless.sh',
      'nerdctl',
    ]);
    const cni = await tarList(f.cni!);
    for (const plugin of [
      'bridge',
      'host-local',
      'portmap',
      'firewall',
      'tuning',
      'loopback',
      'macvlan',
      'dhcp',
      'bandwidth',
      'LICENSE',
      'README.md',
    ])
      expect(cni).toContain(plugin);
    expect(f.runc).toMatch(new RegExp(`/runc\\.${arch}$`));
    expect(readFileSync(f.unit!, 'utf8')).toMatch(/^ExecStart=\/usr\/local\/bin\/containerd$/m);
    const sums = readdirSync(join(f.containerd!, '..'))
      .filter((n) => /sha256|SHA256SUMS/.test(n))
      .sort();
    expect(sums).toEqual(
      [
        `cni-plugins-linux-${arch}-v1.9.0.tgz.sha256`,
        `containerd-2.2.1-linux-${arch}.tar.gz.sha256sum`,
        'SHA256SUMS',
        'runc.sha256sum',
      ].sort(),
    );
    expect(built.notes.join('\n')).toMatch(/^built from github\.com\/opencontainers\/runc@v1\.4\.0 \(h1:/m);
  });

  test('each binary reports its version as the release asset does', async () => {
    const work = mkdtempSync(join(tmpdir(), 'lc-go-versions-'));
    await execa('tar', ['xzf', built.files.containerd!, '-C', work]);
    await execa('tar', ['xzf', built.files.nerdctl!, '-C', work]);
    await execa('tar', ['xzf', built.files.cni!, '-C', work]);
    expect((await execa(join(work, 'bin/containerd'), ['--version'])).stdout).toMatch(
      /^containerd github\.com\/containerd\/containerd\/v2 v2\.2\.1\b/,
    );
    expect((await execa(join(work, 'bin/ctr'), ['--version'])).stdout).toBe(
      'ctr github.com/containerd/containerd/v2 v2.2.1',
    );
    const runc = (await execa(built.files.runc!, ['--version'])).stdout;
    expect(runc).toMatch(/^runc version 1\.4\.0$/m);
    expect(runc).toMatch(/^libseccomp: \d+\.\d+\.\d+$/m);
    expect((await execa(join(work, 'nerdctl'), ['--version'])).stdout).toBe('nerdctl version 2.2.1');
    expect((await execa(join(work, 'bridge'), [], { reject: false })).stderr).toMatch(/^CNI bridge plugin v1\.9\.0$/m);
    expect((await execa(built.podinfo.binary, ['--version'])).stdout.trim()).toBe(PODINFO.release);
  });

  test('fetch --to DIR --source go, then a lab from dir:DIR with no network: all 20 pass, podinfo real', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-go-bundle-'));
    const fetched = await lessonCheck(['fetch', '--to', dir, '--source', 'go']);
    expect(fetched.exitCode, fetched.output).toBe(0);
    expect(existsSync(join(dir, 'podinfo/podinfo'))).toBe(true);
    // a proxy that answers nothing: the lab must not need one
    const run = await runLab(['--source', `dir:${dir}`], undefined, { GOPROXY: 'off' });
    expect(run.exitCode, run.output).toBe(0);
    expect(run.report!.checks.map((c) => [c.id, c.state])).toEqual(CATALOGUE.map(({ id }) => [id, 'passed']));
    expect(run.report!.versions.podinfo).toBe(PODINFO.release);
    expect(await labTraces()).toEqual(before);
  });

  test('a tampered built asset is refused like a tampered download: exit 2, nothing left', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'lc-go-cache-'));
    // a copy, not links: the real cache stays intact
    cpSync(join(built.files.containerd!, '../../..'), cache, { recursive: true });
    const goDir = readdirSync(cache).find((d) => d.startsWith('go1'))!;
    const component = join(
      cache,
      goDir,
      'github.com_containernetworking_plugins@v1.9.0',
      `cni-plugins-linux-${arch}-v1.9.0.tgz`,
    );
    writeFileSync(component, Buffer.concat([readFileSync(component), Buffer.from('tampered')]));
    const run = await runLab(['--source', 'go'], undefined, { LC_GO_CACHE_DIR: cache });
    expect(run.exitCode, run.output).toBe(2);
    expect(run.output).toMatch(/could not set up the lab: checksum mismatch for cni-plugins-linux-\w+-v1\.9\.0\.tgz/);
    expect(await labTraces()).toEqual(before);
  });

  /** A bad input: its environment (some need a free port first), its pins, what the one line says. */
  interface BadInput {
    name: string;
    env: () => Record<string, string> | Promise<Record<string, string>>;
    pins: string[];
    says: RegExp;
  }
  const badInput: BadInput[] = [
    {
      name: 'no Go toolchain',
      env: () => ({ GO: '/nonexistent/go' }),
      pins: [],
      says: /could not set up the lab: no Go toolchain found \(\/nonexistent\/go\): install Go 1\.24 or newer/,
    },
    {
      name: 'a module proxy that does not answer',
      env: async () => ({
        GOPROXY: `http://127.0.0.1:${await freeLoopbackPort()}`,
        GOMODCACHE: mkdtempSync(join(tmpdir(), 'lc-gomod-')),
      }),
      pins: [],
      says: new RegExp(
        String.raw`could not set up the lab: github\.com\/containerd\/containerd\/v2@v2\.2\.1: ` +
          String.raw`the module proxy did not deliver it \(GOPROXY=http:\/\/127\.0\.0\.1:\d+\): .*connection refused`,
      ),
    },
    {
      name: 'a pin that does not exist',
      env: () => ({}),
      pins: ['--pin', 'containerd=2.2.99'],
      says: new RegExp(
        String.raw`could not set up the lab: github\.com\/containerd\/containerd\/v2@v2\.2\.99: ` +
          String.raw`no such version on the module proxy`,
      ),
    },
  ];
  for (const bad of badInput) {
    test(`--source go with ${bad.name}: one clear line, exit 2, nothing left`, async () => {
      const cache = mkdtempSync(join(tmpdir(), 'lc-go-cache-'));
      const run = await runLab(['--source', 'go', ...bad.pins], undefined, {
        LC_GO_CACHE_DIR: cache,
        ...(await bad.env()),
      });
      expect(run.exitCode, run.output).toBe(2);
      expect(run.output).toMatch(bad.says);
      expect(
        run.output
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('lesson-check lab: ')),
      ).toHaveLength(1);
      expect(readdirSync(cache).flatMap((d) => (d.startsWith('.') ? [d] : readdirSync(join(cache, d))))).toEqual([]);
      expect(await labTraces()).toEqual(before);
    });
  }
});
