/**
 * The `go` source: the lesson's releases built here from their Go modules, at the pinned tags,
 * with the flags upstream's release builds use, so that each binary reports its version as the
 * release asset does; then packed as the lesson's release assets, file for file (names, tar
 * layouts, the checksum files upstream publishes), so the lab installs them with the lesson's
 * own commands, exactly as from `--source github` or `dir:`. podinfo is built too, for a real
 * podinfo image. Modules come through Go's own settings (GOPROXY, GONOSUMDB, GOFLAGS,
 * GOTOOLCHAIN): a company's module mirror works as it does for `go` itself.
 *
 * Built assets are cached per Go version, architecture and build recipe, one folder per
 * module@version, under a lock, so labs started together build once.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import { during, progressNote } from '../util/progress.ts';
import { lastLines } from '../util/files.ts';
import { lockDir } from './cache-lock.ts';
import { isAlive } from '../offline/supervisor.ts';
import { type Arch, type ReleaseFiles, type Versions, hostArch, lessonAssets, readDirAssets } from './github-source.ts';

const GO_CACHE = process.env.LC_GO_CACHE_DIR ?? '/var/cache/lesson-check/go';

/** podinfo's tags lack the `v` Go needs (`6.9.2`), so Go knows its commits only as
 * pseudo-versions: this one is the commit of podinfo's 6.9.2 release (pkg/version says so). */
export const PODINFO = {
  module: 'github.com/stefanprodan/podinfo',
  version: 'v1.8.1-0.20250910200901-e86405a8674e',
  release: '6.9.2',
};

/** A setup problem with one clear line: no usable Go, the proxy does not answer, no such pin. */
class GoSourceError extends Error {
  override name = 'GoSourceError';
}

export interface GoToolchain {
  go: string;
  /** `go1.26.8`. */
  version: string;
  env: Record<string, string>;
}

/** The podinfo build the lab's real podinfo image is made of. */
export interface PodinfoBuild {
  binary: string;
  /** podinfo's web UI folder (`./ui` beside the binary in upstream's image). */
  ui: string;
  version: string;
  module: string;
}

export interface GoAssets extends ReleaseFiles {
  podinfo: PodinfoBuild;
}

/** `$GO` when set (as upstream's Makefiles take it), else go on PATH, else the usual installs. */
function goCandidates(): string[] {
  return process.env.GO ? [process.env.GO] : ['go', '/usr/local/go/bin/go', '/usr/lib/go/bin/go'];
}

/** The Go toolchain to build with, or a GoSourceError saying what to install. */
async function findGo(host: Host): Promise<GoToolchain> {
  for (const go of goCandidates()) {
    const r = await host.run(
      [go, 'env', '-json', 'GOVERSION', 'GOPROXY', 'GOFLAGS', 'GOTOOLCHAIN', 'GONOSUMDB', 'GOMODCACHE', 'GOCACHE'],
      { timeoutMs: 30_000 },
    );
    if (r.spawnError) continue;
    if (r.exitCode !== 0) {
      // Go before 1.13 has no `go env -json`; GOVERSION came in 1.16
      const old = (await host.run([go, 'version'])).stdout.trim();
      throw new GoSourceError(
        `${old || go} is too old to build the lesson's modules (they need Go 1.24 or newer): install Go from https://go.dev/dl (Debian 12's golang-go is 1.19)`,
      );
    }
    const env = JSON.parse(r.stdout) as Record<string, string>;
    return { go, version: env.GOVERSION ?? 'unknown', env };
  }
  throw new GoSourceError(
    `no Go toolchain found (${goCandidates().join(', ')}): install Go 1.24 or newer from https://go.dev/dl (Debian 12's golang-go is 1.19, too old for these modules)`,
  );
}

/** go1.26.8 → [1, 26, 8]. */
function goVersionParts(v: string): number[] {
  return (/(\d+)\.(\d+)(?:\.(\d+))?/.exec(v)?.slice(1) ?? []).map((n) => Number(n ?? 0));
}

function atLeast(have: string, need: string): boolean {
  const a = goVersionParts(have);
  const b = goVersionParts(need);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

interface Downloaded {
  dir: string;
  goLine: string;
  revision: string;
  sum: string;
}

/** `go mod download -json MODULE@VERSION` through Go's own proxy settings; a clear error when the
 * proxy does not answer or has no such version. */
async function downloadModule(host: Host, go: GoToolchain, module: string, version: string): Promise<Downloaded> {
  const r = await host.run([go.go, 'mod', 'download', '-json', `${module}@${version}`], {
    timeoutMs: 600_000,
    cwd: '/',
  });
  let info: { Dir?: string; GoMod?: string; Sum?: string; Error?: string; Origin?: { Hash?: string } } = {};
  try {
    info = JSON.parse(r.stdout) as typeof info;
  } catch {
    // no JSON at all: go itself failed (stderr says why)
  }
  if (info.Error || r.exitCode !== 0 || !info.Dir) {
    const why = (info.Error ?? r.stderr).trim().split('\n').pop() ?? `exit ${r.exitCode}`;
    // status codes as words: a proxy's random port (127.0.0.1:40499) must not read as a 404
    if (/not found|unknown revision|invalid version|not available|\b410 Gone\b|\b404\b/i.test(why))
      throw new GoSourceError(
        `${module}@${version}: no such version on the module proxy (GOPROXY=${go.env.GOPROXY}): ${why}`,
      );
    throw new GoSourceError(
      `${module}@${version}: the module proxy did not deliver it (GOPROXY=${go.env.GOPROXY}): ${why}`,
    );
  }
  const goLine = /^go (\S+)/m.exec(readFileSync(info.GoMod ?? join(info.Dir, 'go.mod'), 'utf8'))?.[1] ?? '1.0';
  // a pseudo-version ends in the commit; the proxy names a tag's commit only sometimes
  const revision = info.Origin?.Hash ?? /-([0-9a-f]{12})$/.exec(version)?.[1] ?? '';
  return { dir: info.Dir, goLine, revision, sum: info.Sum ?? '' };
}

/** One module's build: where its outputs go and what makes them. */
interface Component {
  role: 'containerd' | 'runc' | 'nerdctl' | 'cni' | 'podinfo';
  module: string;
  version: string;
  /** Builds into `out` from the writable module copy `src`. */
  build(b: Builder, src: string, out: string, mod: Downloaded): Promise<void>;
}

class Builder {
  constructor(
    readonly host: Host,
    readonly go: GoToolchain,
    readonly arch: Arch,
  ) {}

  /** `go build …` in `cwd`, Go's own environment kept, plus `env`. */
  async goBuild(cwd: string, args: string[], env: Record<string, string> = {}): Promise<void> {
    // -buildvcs=false: the scratch copy is no checkout, but a cache dir inside one would be stamped
    const r = await this.host.run([this.go.go, 'build', '-buildvcs=false', ...args], {
      cwd,
      env: { GOOS: 'linux', GOARCH: this.arch, ...env },
      timeoutMs: 3_600_000,
    });
    if (r.exitCode !== 0)
      throw new GoSourceError(
        `go build ${args.slice(-1)[0]} in ${cwd} failed (exit ${r.exitCode}): ${lastLines(r.stderr || r.stdout)}`,
      );
  }

  async tar(args: string[]): Promise<void> {
    await this.host.ensure(['tar', ...args]);
  }
}

const CONTAINERD_PKG = 'github.com/containerd/containerd/v2';

/** The lesson's five components, as upstream's Makefiles and release scripts build them. */
function components(v: Versions, arch: Arch): Component[] {
  return [
    {
      role: 'containerd',
      module: CONTAINERD_PKG,
      version: `v${v.containerd}`,
      async build(b, src, out, mod) {
        // Makefile: -X version.{Version,Revision,Package}, -s -w; PIE on linux; the shim static, without cgo
        const ldflags = [
          `-X ${CONTAINERD_PKG}/version.Version=v${v.containerd}`,
          `-X ${CONTAINERD_PKG}/version.Revision=${mod.revision}`,
          `-X ${CONTAINERD_PKG}/version.Package=${CONTAINERD_PKG}`,
          '-s -w',
        ].join(' ');
        const bin = join(out, 'release', 'bin');
        mkdirSync(bin, { recursive: true });
        await b.goBuild(src, [
          '-buildmode=pie',
          '-ldflags',
          ldflags,
          '-o',
          `${bin}/`,
          './cmd/ctr',
          './cmd/containerd',
          './cmd/containerd-stress',
        ]);
        await b.goBuild(
          src,
          ['-ldflags', `${ldflags} -extldflags "-static"`, '-o', `${bin}/`, './cmd/containerd-shim-runc-v2'],
          { CGO_ENABLED: '0' },
        );
        const name = `containerd-${v.containerd}-linux-${arch}.tar.gz`;
        await b.tar(['-czf', join(out, name), '-C', join(out, 'release'), 'bin']);
        rmSync(join(out, 'release'), { recursive: true });
        writeSums(out, `${name}.sha256sum`, [name]);
        // the unit file comes from the module's own root, as the lesson's raw URL serves it
        cpSync(join(src, 'containerd.service'), join(out, 'containerd.service'));
      },
    },
    {
      role: 'runc',
      module: 'github.com/opencontainers/runc',
      version: `v${v.runc}`,
      async build(b, src, out, mod) {
        // `make static`, as script/release_build.sh runs it: cgo with libseccomp, static PIE; the
        // version comes from the embedded VERSION file, the commit as `git describe --long` puts it
        const commit = mod.revision ? `v${v.runc}-0-g${mod.revision.slice(0, 8)}` : '';
        const name = `runc.${arch}`;
        try {
          await b.goBuild(
            src,
            [
              '-trimpath',
              '-buildmode=pie',
              '-tags',
              'seccomp urfave_cli_no_docs netgo osusergo',
              '-ldflags',
              `${commit ? `-X main.gitCommit=${commit} ` : ''}-linkmode external -extldflags -static-pie`,
              '-o',
              join(out, name),
              '.',
            ],
            { CGO_ENABLED: '1' },
          );
        } catch (e) {
          if (/seccomp|gcc|cc1|cannot find -l|executable file not found/.test((e as Error).message)) {
            throw new GoSourceError(
              "runc is built with cgo and libseccomp, as upstream's release is: install gcc and libseccomp-dev " +
                `(Debian: apt-get install gcc libc6-dev libseccomp-dev): ${(e as Error).message}`,
            );
          }
          throw e;
        }
        writeSums(out, 'runc.sha256sum', [name]);
      },
    },
    {
      role: 'nerdctl',
      module: 'github.com/containerd/nerdctl/v2',
      version: `v${v.nerdctl}`,
      async build(b, src, out, mod) {
        // go.mod replaces nerdctl/mod/tigron (its test framework, a module of its own) with
        // ./mod/tigron, which the module zip leaves out, and the proxy serves no tigron. Only test
        // code uses it: in the CLI's import graph, through cmd/nerdctl/helpers/testing_linux.go
        // alone (helpers taking a *testing.T that no command calls, so the linker drops them).
        // Without that file and with an empty module at ./mod/tigron the CLI builds; the binary
        // holds the same code.
        rmSync(join(src, 'cmd/nerdctl/helpers/testing_linux.go'), { force: true });
        mkdirSync(join(src, 'mod/tigron'), { recursive: true });
        if (!existsSync(join(src, 'mod/tigron/go.mod')))
          writeFileSync(join(src, 'mod/tigron/go.mod'), 'module github.com/containerd/nerdctl/mod/tigron\n');
        const pkg = 'github.com/containerd/nerdctl/v2';
        const release = join(out, 'release');
        mkdirSync(release, { recursive: true });
        await b.goBuild(
          src,
          [
            '-ldflags',
            `-s -w -X ${pkg}/pkg/version.Version=v${v.nerdctl} ` +
              `-X ${pkg}/pkg/version.Revision=${mod.revision || 'unknown'}`,
            '-o',
            join(release, 'nerdctl'),
            './cmd/nerdctl',
          ],
          { CGO_ENABLED: '0' },
        );
        for (const script of ['containerd-rootless.sh', 'containerd-rootless-setuptool.sh'])
          cpSync(join(src, 'extras/rootless', script), join(release, script));
        const name = `nerdctl-${v.nerdctl}-linux-${arch}.tar.gz`;
        // the Makefile's `tar --owner=0 --group=0 --transform 's/.*\///g'`: three files, flat
        await b.tar([
          '--owner=0',
          '--group=0',
          '-czf',
          join(out, name),
          '-C',
          release,
          'nerdctl',
          'containerd-rootless-setuptool.sh',
          'containerd-rootless.sh',
        ]);
        rmSync(release, { recursive: true });
        writeSums(out, 'SHA256SUMS', [name]);
      },
    },
    {
      role: 'cni',
      module: 'github.com/containernetworking/plugins',
      version: `v${v.cniPlugins}`,
      async build(b, src, out) {
        // build_linux.sh builds every plugin under plugins/{meta,main,ipam}; the release stamps BuildVersion
        const release = join(out, 'release');
        mkdirSync(release, { recursive: true });
        const dirs = ['meta', 'main', 'ipam'].flatMap((kind) =>
          readdirSync(join(src, 'plugins', kind), { withFileTypes: true })
            .filter((d) => d.isDirectory() && d.name !== 'windows')
            .map((d) => `./plugins/${kind}/${d.name}`),
        );
        await b.goBuild(
          src,
          [
            '-ldflags',
            `-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=v${v.cniPlugins}`,
            '-o',
            `${release}/`,
            ...dirs,
          ],
          { CGO_ENABLED: '0' },
        );
        for (const doc of ['LICENSE', 'README.md'])
          if (existsSync(join(src, doc))) cpSync(join(src, doc), join(release, doc));
        const name = `cni-plugins-linux-${arch}-v${v.cniPlugins}.tgz`;
        await b.tar(['--owner=0', '--group=0', '-czf', join(out, name), '-C', release, '.']);
        rmSync(release, { recursive: true });
        writeSums(out, `${name}.sha256`, [name]);
      },
    },
    {
      role: 'podinfo',
      module: PODINFO.module,
      version: PODINFO.version,
      async build(b, src, out, mod) {
        // upstream's Dockerfile: CGO_ENABLED=0, -s -w, REVISION stamped; ./ui beside the binary
        await b.goBuild(
          src,
          [
            '-ldflags',
            `-s -w -X ${PODINFO.module}/pkg/version.REVISION=${mod.revision}`,
            '-o',
            join(out, 'podinfo'),
            './cmd/podinfo',
          ],
          { CGO_ENABLED: '0' },
        );
        cpSync(join(src, 'ui'), join(out, 'ui'), { recursive: true });
      },
    },
  ];
}

/** Writes `file` listing the sha256 of each of `names` (in `dir`) as sha256sum does. */
function writeSums(dir: string, file: string, names: string[]): void {
  const lines = names.map(
    (n) =>
      `${createHash('sha256')
        .update(readFileSync(join(dir, n)))
        .digest('hex')}  ${n}`,
  );
  writeFileSync(join(dir, file), `${lines.join('\n')}\n`);
}

/** Bumped whenever the way a component is built changes, so that no older build is reused. */
const RECIPE = 1;

/** The cache folder of one Go version, architecture and recipe. */
function toolchainDir(cacheRoot: string, go: string, arch: Arch): string {
  return join(cacheRoot, `${go}-linux-${arch}-r${RECIPE}`);
}

/** Where a build of `module@version` lives. */
function componentDir(cacheRoot: string, go: string, arch: Arch, c: Pick<Component, 'module' | 'version'>): string {
  return join(toolchainDir(cacheRoot, go, arch), `${c.module.replace(/\//g, '_')}@${c.version}`);
}

/** Builds (or reuses) the lesson's assets and podinfo; returns them laid out as a `dir:` source
 * would read them, checksums verified. */
export async function buildGoAssets(host: Host, versions: Versions, cacheRoot = GO_CACHE): Promise<GoAssets> {
  const go = await findGo(host);
  const arch = hostArch();
  mkdirSync(cacheRoot, { recursive: true });
  const release = await lockDir(host, join(cacheRoot, '.lock'), 3_600_000);
  const notes: string[] = [];
  let fromCache = true;
  const dirs = new Map<Component['role'], string>();
  try {
    removeDeadScratch(toolchainDir(cacheRoot, go.version, arch));
    const all = components(versions, arch);
    const toBuild = all.filter((c) => !existsSync(join(componentDir(cacheRoot, go.version, arch, c), 'build.json')));
    if (toBuild.length)
      progressNote(
        `building ${toBuild.map(componentName).join(', ')} from their Go modules with ${go.version}: ` +
          `once (a first run takes about 5 minutes on 2 cores); later runs reuse the build and take seconds`,
      );
    for (const c of all) {
      const dir = componentDir(cacheRoot, go.version, arch, c);
      dirs.set(c.role, dir);
      const record = join(dir, 'build.json');
      if (existsSync(record)) {
        notes.push(builtNote(JSON.parse(readFileSync(record, 'utf8')) as BuildRecord));
        continue;
      }
      fromCache = false;
      const count = `(${toBuild.indexOf(c) + 1}/${toBuild.length})`;
      const mod = await during(`downloading ${componentName(c)}'s module ${count}`, () =>
        downloadModule(host, go, c.module, c.version),
      );
      // Go 1.21 and later fetch the toolchain a module needs, unless GOTOOLCHAIN says local
      const switches = atLeast(go.version, '1.21') && !!go.env.GOTOOLCHAIN && !go.env.GOTOOLCHAIN.startsWith('local');
      if (!atLeast(go.version, mod.goLine) && !switches) {
        throw new GoSourceError(
          `${c.module}@${c.version} needs Go ${mod.goLine} or newer, and ${go.go} is ${go.version} (GOTOOLCHAIN=${go.env.GOTOOLCHAIN || 'unknown to it'}): install a newer Go from https://go.dev/dl, or let Go fetch one (GOTOOLCHAIN=auto)`,
        );
      }
      await during(`building ${componentName(c)} ${count}`, () =>
        buildComponent(new Builder(host, go, arch), c, mod, dir),
      );
      notes.push(builtNote(JSON.parse(readFileSync(record, 'utf8')) as BuildRecord));
    }
  } finally {
    release();
  }
  // the lesson's assets side by side, as `fetch --to DIR` leaves them (hard links: no copies)
  const bundle = join(
    toolchainDir(cacheRoot, go.version, arch),
    `bundle-${versions.containerd}-${versions.runc}-${versions.nerdctl}-${versions.cniPlugins}`,
  );
  linkBundle(bundle, versions, arch, dirs);
  const read = readDirAssets(bundle, versions);
  const podinfoDir = dirs.get('podinfo')!;
  return {
    ...read,
    source: 'go',
    notes: [...notes, ...read.notes],
    fromCache,
    podinfo: {
      binary: join(podinfoDir, 'podinfo'),
      ui: join(podinfoDir, 'ui'),
      version: PODINFO.release,
      module: `${PODINFO.module}@${PODINFO.version}`,
    },
  };
}

/** "containerd 2.2.1", "the CNI plugins 1.9.0", "podinfo 6.9.2": as the console names a build. */
function componentName(c: Component): string {
  const version = c.role === 'podinfo' ? PODINFO.release : c.version.replace(/^v/, '');
  return `${c.role === 'cni' ? 'the CNI plugins' : c.role} ${version}`;
}

interface BuildRecord {
  module: string;
  version: string;
  sum: string;
  revision: string;
  go: string;
  builtAt: string;
  seconds: number;
}

function builtNote(r: BuildRecord): string {
  const revision = r.revision ? `, revision ${r.revision}` : ', revision not given by the proxy';
  return `built from ${r.module}@${r.version} (${r.sum}${revision}) with ${r.go}`;
}

/** Removes the scratch folders of builds whose process died (killed mid-build). */
function removeDeadScratch(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const pid = Number(/\.build-(\d+)$/.exec(entry)?.[1] ?? 0);
    if (pid && !isAlive(pid)) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

/** Builds one component in a scratch copy of its module, then moves the finished folder into place. */
async function buildComponent(b: Builder, c: Component, mod: Downloaded, dir: string): Promise<void> {
  const started = Date.now();
  const scratch = `${dir}.build-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  const src = join(scratch, 'src');
  const out = join(scratch, 'out');
  try {
    // the module cache is read-only; nerdctl's build needs to add a folder
    cpSync(mod.dir, src, { recursive: true });
    await b.host.ensure(['chmod', '-R', 'u+w', src]);
    mkdirSync(out, { recursive: true });
    await c.build(b, src, out, mod);
    const record: BuildRecord = {
      module: c.module,
      version: c.version,
      sum: mod.sum,
      revision: mod.revision,
      go: b.go.version,
      builtAt: new Date().toISOString(),
      seconds: Math.round((Date.now() - started) / 1000),
    };
    writeFileSync(join(out, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, '..'), { recursive: true });
    renameSync(out, dir);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Hard-links each lesson asset and its checksum file into `bundle`, flat. */
function linkBundle(bundle: string, versions: Versions, arch: Arch, dirs: Map<Component['role'], string>): void {
  mkdirSync(bundle, { recursive: true });
  for (const asset of lessonAssets(versions, arch)) {
    const from = dirs.get(asset.role === 'unit' ? 'containerd' : asset.role);
    if (!from) continue;
    for (const path of [asset.path, asset.checksum?.path]) {
      if (!path) continue;
      const name = path.slice(path.lastIndexOf('/') + 1);
      rmSync(join(bundle, name), { force: true });
      linkSync(join(from, name), join(bundle, name));
    }
  }
}

/** Copies the podinfo build into `dir/podinfo` beside the assets `fetch --to DIR` gathers, so that
 * a `dir:` lab serves the real podinfo too. */
export function copyPodinfoTo(build: PodinfoBuild, dir: string): void {
  const to = join(dir, 'podinfo');
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  cpSync(build.binary, join(to, 'podinfo'));
  cpSync(build.ui, join(to, 'ui'), { recursive: true });
  writeFileSync(
    join(to, 'podinfo.json'),
    `${JSON.stringify({ version: build.version, module: build.module }, null, 2)}\n`,
  );
}

/** The podinfo build a `fetch --to DIR --source go` left in `dir`, if any. */
export function readDirPodinfo(dir: string): PodinfoBuild | undefined {
  const from = join(dir, 'podinfo');
  if (!existsSync(join(from, 'podinfo.json'))) return undefined;
  const meta = JSON.parse(readFileSync(join(from, 'podinfo.json'), 'utf8')) as { version: string; module: string };
  return { binary: join(from, 'podinfo'), ui: join(from, 'ui'), ...meta };
}
