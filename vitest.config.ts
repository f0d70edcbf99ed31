import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'actors/**/*.test.ts', 'protocols/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests start real servers and LevelDB; on a busy 2-core machine give them room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
