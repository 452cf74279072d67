// The lesson's checks (helpers/suite-config.ts), for running vitest directly on suites/.
// lesson-check itself starts vitest through its Node API with the same options
// (helpers/suite-runner.ts).
import { defineConfig } from 'vitest/config';
import { SUITE_OPTIONS } from './helpers/suite-config.ts';

export default defineConfig({
  test: {
    ...SUITE_OPTIONS,
    reporters: ['./helpers/reporters/vitest-progress.ts', './helpers/reporters/vitest-reporter.ts'],
  },
});
