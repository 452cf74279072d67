/**
 * How the stage suites run, for the CLI's runner (helpers/suite-runner.ts) and for vitest.config.ts
 * alike: stage files in name order, one at a time, in one worker (the stages share one host and
 * build on each other), no per-file isolation (the run's context is built once), no type-checking
 * at run time, and vitest's transforms cached on disk between runs.
 */
import type { InlineConfig } from 'vitest/node';

export const SUITE_OPTIONS = {
  include: ['suites/**/*.test.ts'],
  fileParallelism: false,
  // inspecting, a stage's checks run at once (helpers/checks.ts): room for the largest stage
  maxConcurrency: 10,
  maxWorkers: 1,
  pool: 'threads' as const,
  isolate: false,
  testTimeout: 120_000,
  typecheck: { enabled: false },
  experimental: { fsModuleCache: true },
  deps: { optimizer: { ssr: { enabled: true, include: ['execa'] } } },
} satisfies InlineConfig;
