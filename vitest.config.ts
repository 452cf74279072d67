// The lesson's checks (helpers/suite-run/suite-config.ts), for running vitest directly on suites/.
// lesson-check itself starts vitest through its Node API with the same options
// (helpers/suite-run/suite-runner.ts).
import { defineConfig } from 'vitest/config';
import { SUITE_OPTIONS } from './helpers/suite-run/suite-config.ts';

export default defineConfig({
  test: {
    ...SUITE_OPTIONS,
    reporters: ['./helpers/suite-run/vitest-progress.ts', './helpers/suite-run/vitest-reporter.ts'],
  },
});
