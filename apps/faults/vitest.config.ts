import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.mjs';

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // A scenario starts servers and apps, waits through outages and then up to 90 s for the store.
      testTimeout: 240_000,
      // The scenarios load the machine (and stop servers): one file at a time keeps their timing honest.
      fileParallelism: false,
    },
  }),
);
