// Finds (or builds) the bundle of helpers/cli.ts that bin/lesson-check.js runs; see there.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'lesson-check');
const ENTRY = join(ROOT, 'helpers', 'cli-entry.ts');

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
  for (const f of ['package.json', 'node_modules/.package-lock.json', 'bin/bundle.js']) {
    const st = statSync(join(ROOT, f), { throwIfNoEntry: false });
    hash.update(`${f}\0${st?.size}\0${st?.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** The module to import: the bundle's entry, or (falling back) the TypeScript entry through tsx. */
export async function cliModule() {
  try {
    const dir = join(CACHE, sourceKey());
    const entry = join(dir, 'cli-entry.js');
    if (!existsSync(entry)) await build(dir);
    return pathToFileURL(entry).href;
  } catch (e) {
    if (process.env.LC_DEBUG_BUNDLE) console.error(`lesson-check: running from source (${e.message})`);
    const { register } = await import('tsx/esm/api');
    register();
    return pathToFileURL(ENTRY).href;
  }
}

async function build(dir) {
  const { build: esbuild } = await import('esbuild');
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  await esbuild({
    entryPoints: [ENTRY],
    outdir: staging,
    bundle: true,
    // vitest is loaded only by the commands that run the suites: a chunk of its own keeps it off
    // every other start (--help, --list, merge, lab --down)
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // vitest and vite stay packages: they locate their own workers and files at run time
    external: ['vitest', 'vitest/*', 'vite'],
    define: { __LESSON_CHECK_ROOT__: JSON.stringify(ROOT) },
    // bundled CommonJS packages call require(): give them one
    banner: {
      js:
        "import { createRequire as __lcCreateRequire } from 'node:module'; " +
        'const require = __lcCreateRequire(import.meta.url);',
    },
    logLevel: 'silent',
  });
  try {
    renameSync(staging, dir);
  } catch (e) {
    // another run built the same key first: theirs is as good
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(dir)) throw e;
  }
  // older builds are of no more use once no run can still be loading a chunk from one
  const day = 24 * 3600 * 1000;
  for (const old of readdirSync(CACHE)) {
    const path = join(CACHE, old);
    if (path !== dir && Date.now() - statSync(path).mtimeMs > day) rmSync(path, { recursive: true, force: true });
  }
}
