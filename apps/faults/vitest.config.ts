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
      // Four spec files at a time: a scenario mostly waits (readings streamed at a fixed rate, outages
      // of a fixed length, servers restarting), each has its own vhost and database, and one that
      // stops or disturbs a server starts a private one.
      maxWorkers: 4,
    },
  }),
);
