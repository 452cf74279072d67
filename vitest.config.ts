// The lesson's checks: stage files in name order, one at a time, in one worker (the stages
// share one host and build on each other), reported by lesson-check's own reporter.
import { defineConfig } from 'vitest/config';
import LessonOrderSequencer from './helpers/sequencer.ts';

export default defineConfig({
  test: {
    include: ['suites/**/*.test.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    pool: 'forks',
    isolate: false,
    sequence: { sequencer: LessonOrderSequencer },
    testTimeout: 120_000,
    reporters: ['./helpers/reporters/vitest-progress.ts', './helpers/reporters/vitest-reporter.ts'],
    typecheck: { enabled: false },
  },
});
