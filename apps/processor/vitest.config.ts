import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.mjs';

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // Each test starts processors from the built bundle (waiting up to 60 s for one to consume on a
      // loaded machine) and then waits for what they store or log (up to 30 s each).
      testTimeout: 120_000,
    },
  }),
);
