import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Forks, not threads: the Temporal worker's native bridge and PGlite's wasm behave best in their own process.
    pool: 'forks',
    // Integration tests share one Temporal dev server and one PostgreSQL; two files at a time keeps them responsive.
    fileParallelism: true,
    maxWorkers: 2,
    // Workflow tests wait on real timers and real servers.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
