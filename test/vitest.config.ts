// The project's own tests: unit tests of the helpers, then the lab end to end (as root).
// One file at a time: the lab tests share the machine's containerd-free state.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 30_000,
    globalSetup: ['test/temp-dir.ts', 'test/go-assets.ts'],
  },
});
