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
    // `expect.poll` waits for a condition, it does not bound how long it may take: vitest's default
    // (1 s) fails on a machine busy with other tests. A poll that needs longer says so itself.
    expect: { poll: { timeout: 15_000 } },
    // Two spec files of a project at a time (vitest's default, cores - 1, is one on 2 cores): an
    // integration spec mostly waits for the servers and the apps it starts, and owns its vhost,
    // database and ports, so two overlap safely. `npm test` runs several projects at once besides.
    maxWorkers: 2,
    // A worker imports the modules once for all the spec files it runs, not once per file: the
    // specs keep no state between files (no module mocks; fake timers and servers are undone in
    // their own hooks). The API's specs alone: 69 → 62 CPU s; the processor's 103 → 97.
    isolate: false,
  },
});
