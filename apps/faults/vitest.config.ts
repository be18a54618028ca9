import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.mjs';

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // A scenario's waits in a row, each at its bound (apps up in 60 s, polls of 15-60 s, finish()
      // 90 s), add up to about 390 s: the test's own timeout comes after them, so a wait that runs
      // out fails with its own message. A passing scenario takes 5-35 s.
      testTimeout: 420_000,
      // The scenarios load the machine (and stop servers): one file at a time keeps their timing honest.
      fileParallelism: false,
    },
  }),
);
