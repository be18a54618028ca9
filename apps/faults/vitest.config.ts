import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.mjs';

/**
 * The three-node cluster's scenario is the longest file (about 80 s alone, most of it waiting for
 * its nodes to start, stop and rejoin), so it starts first, and the other files share the second
 * worker: the longest job first, so that no long one starts last and runs alone.
 */
class ClusterFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => (spec.moduleId.endsWith('broker-cluster.integration.spec.ts') ? 0 : 1);
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // A scenario's waits in a row, each at its bound (apps up in 60 s, polls of 15-60 s, finish()
      // 90 s), add up to about 390 s: the test's own timeout comes after them, so a wait that runs
      // out fails with its own message. A passing scenario takes 5-40 s alone.
      testTimeout: 420_000,
      // Two files at a time (the shared `maxWorkers`): each scenario owns its vhost, database and
      // private servers, and mostly waits for them.
      sequence: { sequencer: ClusterFirst },
    },
  }),
);
