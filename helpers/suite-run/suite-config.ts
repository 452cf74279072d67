/**
 * How the stage suites run, for the CLI's runner (suite-runner.ts) and for vitest.config.ts
 * alike: one file (suites/lesson.test.ts, the stages in lesson order), in one worker, no
 * type-checking at run time, and vitest's transforms cached on disk between runs. Started by
 * bin/lesson-check.js, the file is its bundle (LC_SUITES_BUNDLE: the suites with the helpers and
 * packages they use), which the worker imports natively, in one piece.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { InlineConfig } from 'vitest/node';
import { CATALOGUE } from '../checks/catalogue.ts';
import { ROOT } from '../util/root.ts';

const bundled = process.env.LC_SUITES_BUNDLE;

/** Where vitest keeps its transforms: beside the bundles (bin/bundle.js picks a folder that can be
 * written: the package's node_modules/.cache, or the user's cache when the package is read-only);
 * undefined when it cannot be written, and vitest then keeps none. */
function moduleCacheDir(): string | undefined {
  const dir = join(process.env.LC_BUNDLE_CACHE_DIR ?? join(ROOT, 'node_modules', '.cache', 'lesson-check'), 'vitest');
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return dir;
  } catch {
    return undefined;
  }
}

const moduleCache = moduleCacheDir();

export const SUITE_OPTIONS = {
  // the bundle may be outside the root (in the user's cache): vitest looks for it in its own folder
  ...(bundled ? { dir: dirname(bundled), include: [basename(bundled)] } : { include: ['suites/lesson.test.ts'] }),
  // the bundle lives in a cache folder (node_modules/.cache), which vitest leaves out by default
  exclude: [],
  fileParallelism: false,
  // inspecting, every check starts at once and waits for what it needs (helpers/checks/check.ts); a
  // check waiting holds one of vitest's slots: room for all of them
  maxConcurrency: CATALOGUE.length,
  maxWorkers: 1,
  pool: 'threads' as const,
  isolate: false,
  testTimeout: 120_000,
  typecheck: { enabled: false },
  experimental: moduleCache ? { fsModuleCache: true, fsModuleCachePath: moduleCache } : { fsModuleCache: false },
} satisfies InlineConfig;
