// Finds (or builds) the bundles bin/lesson-check.js runs: the CLI (helpers/commands/cli-entry.ts) and the
// suites (suites/lesson.test.ts, with the helpers and packages they use); see there.
// They are kept in the package's node_modules/.cache/lesson-check where that can be written (a
// checkout, an install of one's own or root's run by root), else in the user's cache,
// $XDG_CACHE_HOME/lesson-check or ~/.cache/lesson-check (a package root installed, run by a user);
// LC_BUNDLE_CACHE_DIR names another folder. Where none can be written, the sources run through tsx.
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(ROOT, 'helpers', 'commands', 'cli-entry.ts');
const SUITES = join(ROOT, 'suites', 'lesson.test.ts');
const SUITES_BUNDLE = 'lesson.test.mjs';

/** A key that changes when any source file or the installed packages change. */
function sourceKey() {
  const hash = createHash('sha256');
  const visit = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, e.name);
      if (e.isDirectory()) visit(path);
      else {
        const st = statSync(path);
        hash.update(`${path}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
  };
  visit(join(ROOT, 'helpers'));
  visit(join(ROOT, 'suites'));
  for (const f of ['package.json', 'node_modules/.package-lock.json', 'bin/bundle.js']) {
    const st = statSync(join(ROOT, f), { throwIfNoEntry: false });
    hash.update(`${f}\0${st?.size}\0${st?.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** The folders the bundles may be kept in, in the order they are tried. */
function cacheDirs() {
  const xdg = process.env.XDG_CACHE_HOME;
  return process.env.LC_BUNDLE_CACHE_DIR
    ? [process.env.LC_BUNDLE_CACHE_DIR]
    : [
        join(ROOT, 'node_modules', '.cache', 'lesson-check'),
        join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'lesson-check'),
      ];
}

/** The first folder the bundles may be kept in that can be written (made if need be). */
function cacheDir() {
  const dirs = cacheDirs();
  const refused = [];
  for (const dir of dirs) {
    try {
      mkdirSync(dir, { recursive: true });
      // root is refused only by a read-only file system: access() says so too
      accessSync(dir, constants.W_OK);
      return dir;
    } catch (e) {
      refused.push(`${dir}: ${e.code ?? e.message}`);
    }
  }
  throw new Error(`no cache folder can be written (${refused.join('; ')})`);
}

/** The module to import, the bundle's entry, the suites' bundle for vitest to run, and the cache
 * folder they are in; or (falling back) the TypeScript entry through tsx, and the suites from
 * source. */
export async function cliModule() {
  // a bundle of these very sources already built (by root, in a package root installed) serves a
  // user who may not write there: nothing to build, nor to run through tsx
  const key = sourceKey();
  for (const cache of cacheDirs()) {
    const entry = join(cache, key, 'cli-entry.js');
    if (existsSync(entry)) return { url: pathToFileURL(entry).href, suites: join(cache, key, SUITES_BUNDLE), cache };
  }
  try {
    const cache = cacheDir();
    const dir = join(cache, key);
    const entry = join(dir, 'cli-entry.js');
    if (!existsSync(entry)) await build(cache, dir);
    return { url: pathToFileURL(entry).href, suites: join(dir, SUITES_BUNDLE), cache };
  } catch (e) {
    if (process.env.LC_DEBUG_BUNDLE) console.error(`lesson-check: running from source (${e.message})`);
    const { register } = await import('tsx/esm/api');
    register();
    return { url: pathToFileURL(ENTRY).href, suites: undefined, cache: undefined };
  }
}

/** vitest and vite stay packages (they locate their own workers and files at run time), imported
 * by their full path: a bundle in the user's cache has no node_modules above it to find them in. */
const packagesByPath = {
  name: 'packages-by-path',
  setup(b) {
    b.onResolve({ filter: /^(vitest|vite)(\/|$)/ }, (args) => ({
      path: fileURLToPath(import.meta.resolve(args.path)),
      external: true,
    }));
  },
};

async function build(cache, dir) {
  const { build: esbuild } = await import('esbuild');
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const common = {
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    define: { __LESSON_CHECK_ROOT__: JSON.stringify(ROOT) },
    // bundled CommonJS packages call require(): give them one
    banner: {
      js:
        "import { createRequire as __lcCreateRequire } from 'node:module'; " +
        'const require = __lcCreateRequire(import.meta.url);',
    },
    logLevel: 'silent',
    plugins: [packagesByPath],
  };
  // the suites, for vitest's worker: one module it imports natively, where the sources would be
  // some forty files through vite's module runner; vitest stays the package the worker runs
  await esbuild({
    ...common,
    entryPoints: [SUITES],
    outfile: join(staging, SUITES_BUNDLE),
  });
  await esbuild({
    ...common,
    entryPoints: [ENTRY],
    outdir: staging,
    // vitest is loaded only by the commands that run the suites: a chunk of its own keeps it off
    // every other start (--help, --list, merge, lab --down)
    splitting: true,
  });
  try {
    renameSync(staging, dir);
  } catch (e) {
    // another run built the same key first: theirs is as good
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(dir)) throw e;
  }
  // older builds are of no more use once no run can still be loading a chunk from one (the
  // folder also holds vitest's module cache, helpers/suite-run/suite-config.ts: not a build)
  const day = 24 * 3600 * 1000;
  for (const old of readdirSync(cache).filter((name) => /^[0-9a-f]{16}(\.|$)/.test(name))) {
    const path = join(cache, old);
    if (path !== dir && Date.now() - statSync(path).mtimeMs > day) rmSync(path, { recursive: true, force: true });
  }
}
