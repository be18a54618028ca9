import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // beforeAll waits for the devstack, which a cold start on a small machine takes a while to bring up.
    hookTimeout: 200_000,
    testTimeout: 240_000,
    // The scenarios load the machine (and stop servers): one file at a time keeps their timing honest.
    fileParallelism: false,
  },
});
