// Finds (or builds) the bundles bin/lesson-check.js runs: the CLI (helpers/commands/cli-entry.ts) and the
// suites (suites/lesson.test.ts, with the helpers and packages they use); see there.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'lesson-check');
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

/** The module to import, the bundle's entry, and the suites' bundle for vitest to run; or
 * (falling back) the TypeScript entry through tsx, and the suites from source. */
export async function cliModule() {
  try {
    const dir = join(CACHE, sourceKey());
    const entry = join(dir, 'cli-entry.js');
    if (!existsSync(entry)) await build(dir);
    return { url: pathToFileURL(entry).href, suites: join(dir, SUITES_BUNDLE) };
  } catch (e) {
    if (process.env.LC_DEBUG_BUNDLE) console.error(`lesson-check: running from source (${e.message})`);
    const { register } = await import('tsx/esm/api');
    register();
    return { url: pathToFileURL(ENTRY).href, suites: undefined };
  }
}

async function build(dir) {
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
  };
  // the suites, for vitest's worker: one module it imports natively, where the sources would be
  // some forty files through vite's module runner; vitest stays the package the worker runs
  await esbuild({
    ...common,
    entryPoints: [SUITES],
    outfile: join(staging, SUITES_BUNDLE),
    external: ['vitest', 'vitest/*', 'vite'],
  });
  await esbuild({
    ...common,
    entryPoints: [ENTRY],
    outdir: staging,
    // vitest is loaded only by the commands that run the suites: a chunk of its own keeps it off
    // every other start (--help, --list, merge, lab --down)
    splitting: true,
    // vitest and vite stay packages: they locate their own workers and files at run time
    external: ['vitest', 'vitest/*', 'vite'],
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
