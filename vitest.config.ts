import { defineConfig } from 'vitest/config';
import { WxtVitest } from 'wxt/testing/vitest-plugin';

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [WxtVitest()],
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.e2e.test.ts', 'test/native-host/**'],
          setupFiles: ['fake-indexeddb/auto'],
        },
      },
      {
        // The native host: Node only, real files and sockets in temporary folders.
        test: {
          name: 'host',
          include: ['test/native-host/**/*.test.ts'],
          exclude: ['test/**/*.e2e.test.ts'],
          environment: 'node',
        },
      },
      {
        // A real Chromium with the built extension: run one file at a time (2-core machines).
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
