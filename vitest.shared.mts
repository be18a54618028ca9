import { defineConfig } from 'vitest/config';

/**
 * What every project's tests share. Each project's `vitest.config.ts` is this, merged with only
 * what differs there (`mergeConfig(shared, defineConfig({ test: { ... } }))`).
 */
export default defineConfig({
  test: {
    // beforeAll waits for the devstack, which a cold start on a small machine takes a while to bring up.
    hookTimeout: 200_000,
    // A test whose polls or waits take longer says so with its own timeout (`it(name, fn, ms)`).
    testTimeout: 30_000,
    // Three spec files of a project at a time (vitest's default is one per core but one: a single
    // file on 2 cores). Integration specs spend most of their time waiting for servers and the apps
    // they start, and each owns its vhost, database and ports, so they overlap safely.
    maxWorkers: 3,
  },
});
