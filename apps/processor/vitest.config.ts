import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.mjs';

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // Each test starts a processor from its TypeScript source (up to 15 s on a loaded machine) and
      // then waits for its log lines (up to 30 s each).
      testTimeout: 60_000,
    },
  }),
);
