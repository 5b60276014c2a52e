import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The suite waits on Postgres, S3 and child processes as much as it computes: four workers
    // finish it sooner than two on this 2-core machine (121 s against 135 s).
    maxWorkers: 4,
    env: { POWERTOOLS_LOG_LEVEL: 'WARN' },
  },
});
