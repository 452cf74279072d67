/**
 * How the stage suites run, for the CLI's runner (suite-runner.ts) and for vitest.config.ts
 * alike: one file (suites/lesson.test.ts, the stages in lesson order), in one worker, no
 * type-checking at run time, and vitest's transforms cached on disk between runs. Started by
 * bin/lesson-check.js, the file is its bundle (LC_SUITES_BUNDLE: the suites with the helpers and
 * packages they use), which the worker imports natively, in one piece.
 */
import { relative } from 'node:path';
import type { InlineConfig } from 'vitest/node';
import { CATALOGUE } from '../catalogue.ts';
import { ROOT } from '../root.ts';

const bundled = process.env.LC_SUITES_BUNDLE;

export const SUITE_OPTIONS = {
  include: [bundled ? relative(ROOT, bundled) : 'suites/lesson.test.ts'],
  // the bundle lives in node_modules/.cache, which vitest leaves out by default
  exclude: [],
  fileParallelism: false,
  // inspecting, every check starts at once and waits for what it needs (helpers/checks.ts); a
  // check waiting holds one of vitest's slots: room for all of them
  maxConcurrency: CATALOGUE.length,
  maxWorkers: 1,
  pool: 'threads' as const,
  isolate: false,
  testTimeout: 120_000,
  typecheck: { enabled: false },
  experimental: { fsModuleCache: true },
} satisfies InlineConfig;
