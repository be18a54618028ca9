import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.mjs';

/**
 * The three-node cluster's scenario takes about as long as the other files together (two minutes
 * and more of its own servers, mostly waiting for nodes to stop, start and rejoin), so it starts
 * first, and the other files share the second worker: the suite then takes about as long as its
 * longest file plus what the rest leave over, instead of their sum.
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
      // out fails with its own message. A passing scenario takes 5-35 s, the cluster's about 130 s.
      testTimeout: 420_000,
      // Two files at a time (the shared `maxWorkers`): each scenario owns its vhost, database and
      // private servers, and mostly waits for them.
      sequence: { sequencer: ClusterFirst },
    },
  }),
);
