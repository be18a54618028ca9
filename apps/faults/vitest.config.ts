import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.mjs';

/**
 * The longest files start first, so that no long one starts last and runs alone: the three-node
 * cluster's scenario (about 80 s alone, most of it waiting for its nodes to start, stop and
 * rejoin), then the broker outage's (about 55 s: a private node's boot, forced closes, an outage
 * and a restart).
 */
const LONGEST_FIRST = ['broker-cluster.integration.spec.ts', 'broker-outage.integration.spec.ts'];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const index = LONGEST_FIRST.findIndex((name) => spec.moduleId.endsWith(name));
      return index === -1 ? LONGEST_FIRST.length : index;
    };
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
      // Three files at a time: each scenario owns its vhost, database and private servers, and
      // mostly waits for them (its servers' boots, outages and restarts). Nx starts this suite
      // among the last, and it then runs alone for its last minute or two: a third file at a time
      // is what shortens that.
      maxWorkers: 3,
      sequence: { sequencer: LongestFirst },
    },
  }),
);
