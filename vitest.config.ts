import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['app/**/*.test.ts', 'main/**/*.test.ts', 'renderer/**/*.test.ts', 'tools/**/*.test.ts', 'bench/**/*.test.ts', 'e2e/**/*.test.ts'],
    // Sized for a loaded 2-core machine: many tests start worker processes, run the model or drive a browser.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    setupFiles: ['vitest.setup.ts'],
    // What a poll waits on is a worker, the model or a browser: sized for a loaded 2-core machine, not 1 s.
    expect: { poll: { timeout: 60_000 } },
  },
});
