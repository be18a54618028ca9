import { sleep } from '@tally/runtime';
import type { RefreshResult } from '@tally/store';

export interface RollupRefresherOptions {
  /** Recomputes the rollup buckets that changed; `rollups.refresh` of the store. */
  refresh: () => Promise<RefreshResult>;
  /** Pause between two refreshes. */
  intervalMs: number;
  /**
   * True while the processor has a backlog to write: a refresh then waits (writing comes first),
   * but never for longer than `maxDeferMs` after the last one.
   */
  busy?: () => boolean;
  /** Longest time between two refreshes while `busy` holds. @default 30 s */
  maxDeferMs?: number;
  signal: AbortSignal;
  /** Told when a refresh fails after succeeding, and when it succeeds again after failing. */
  onStateChange?: (change: { failing: true; error: unknown } | { failing: false }) => void;
  /** Told after each refresh that recomputed something. */
  onRefreshed?: (result: RefreshResult) => void;
}

/**
 * Keeps the rollups fresh: refreshes every `intervalMs`, also while a backlog leaves buckets
 * pending, so that writing readings keeps the server first (a refresh in a tight loop halved the
 * processor's drain; one a second over a large batch of buckets catches up in a fraction of it).
 * While the processor is `busy` with a backlog, refreshes wait, up to `maxDeferMs` apart: a
 * refresh a second cost a drain of 200,000 readings 15-20% of its speed, and catches up after it.
 * Counts stay exact meanwhile: they read dirty buckets raw. A failure (MongoDB down) is retried at
 * the same pace. Resolves once `signal` aborts and the refresh in progress has ended. Several
 * processors may each run one: a refresh only ever writes a bucket whose version it read.
 */
export async function runRollupRefresher(options: RollupRefresherOptions): Promise<void> {
  const { refresh, intervalMs, signal, onStateChange, onRefreshed, busy = () => false, maxDeferMs = 30_000 } = options;
  let failing = false;
  let lastRefresh = Date.now();
  while (!signal.aborted) {
    if (busy() && Date.now() - lastRefresh < maxDeferMs) {
      await sleep(intervalMs, signal);
      continue;
    }
    lastRefresh = Date.now();
    try {
      const result = await refresh();
      if (failing) onStateChange?.({ failing: false });
      failing = false;
      if (result.refreshed > 0) onRefreshed?.(result);
    } catch (error) {
      if (!failing) onStateChange?.({ failing: true, error });
      failing = true;
    }
    await sleep(intervalMs, signal);
  }
}
