// The inner loop, `npm run test:unit`: every test that needs no root (so no lab, machine or VM),
// no npm registry and no Ansible, files in parallel. The tier is LC_TEST_TIER=unit:
// test/support/requirements.ts skips what needs more, saying so (in CI too). No go source build
// (test/go-assets.ts): only the labs need it.
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // its files wait on the processes they start: one worker per core
    maxWorkers: Math.max(2, availableParallelism()),
    globalSetup: ['test/temp-dir.ts'],
    env: { LC_TEST_TIER: 'unit' },
  },
});
