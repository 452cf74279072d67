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
 *
 * Its parts, in go/: the toolchain (toolchain.ts), the module download (module.ts), what a recipe
 * is given (builder.ts), one recipe per component (recipes/), the cache (cache.ts); here, the
 * source itself and the `dir:` side of podinfo.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Host } from '../host/host.ts';
import { readJsonFile } from '../util/json-file.ts';
import { during, progressNote } from '../util/progress.ts';
import { lockDir } from './cache-lock.ts';
import { type ReleaseFiles, type Versions, hostArch, readDirAssets } from './github-source.ts';
import { Builder, type Component } from './go/builder.ts';
import {
  type BuildRecord,
  GO_CACHE,
  buildComponent,
  builtNote,
  componentDir,
  linkBundle,
  removeDeadScratch,
  toolchainDir,
} from './go/cache.ts';
import { downloadModule } from './go/module.ts';
import { PODINFO } from './go/recipes/podinfo.ts';
import { componentName, components } from './go/recipes/index.ts';
import { GoSourceError, atLeast, findGo } from './go/toolchain.ts';

export { PODINFO } from './go/recipes/podinfo.ts';
export type { GoToolchain } from './go/toolchain.ts';

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
        notes.push(builtNote(readJsonFile<BuildRecord>(record)));
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
      notes.push(builtNote(readJsonFile<BuildRecord>(record)));
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
