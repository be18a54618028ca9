import type { RefreshResult } from '@tally/store';
import { describe, expect, it } from 'vitest';
import { runRollupRefresher } from './rollup-refresher';

/** A refresh that answers from a script, then aborts the refresher when the script runs out. */
function scripted(script: (RefreshResult | Error)[], controller: AbortController) {
  const calls: number[] = [];
  const started = Date.now();
  const refresh = async () => {
    calls.push(Date.now() - started);
    const next = script.shift();
    if (script.length === 0) controller.abort();
    if (next instanceof Error) throw next;
    return next ?? { refreshed: 0, pending: 0 };
  };
  return { refresh, calls };
}

describe('runRollupRefresher', () => {
  it('waits the interval between refreshes, also while buckets are pending', async () => {
    const controller = new AbortController();
    const { refresh, calls } = scripted(
      [
        { refreshed: 500, pending: 700 },
        { refreshed: 500, pending: 200 },
        { refreshed: 200, pending: 0 },
        { refreshed: 0, pending: 0 },
      ],
      controller,
    );
    const refreshed: number[] = [];
    await runRollupRefresher({ refresh, intervalMs: 100, signal: controller.signal, onRefreshed: (r) => refreshed.push(r.refreshed) });
    expect(calls).toHaveLength(4);
    for (const [i, at] of calls.entries()) expect(at).toBeGreaterThanOrEqual(i * 100 - 5);
    expect(refreshed).toEqual([500, 500, 200]);
  });

  it('waits while the processor is busy, and refreshes once it is not', async () => {
    const controller = new AbortController();
    const { refresh, calls } = scripted([{ refreshed: 9, pending: 0 }, { refreshed: 0, pending: 0 }], controller);
    const started = Date.now();
    await runRollupRefresher({ refresh, intervalMs: 20, busy: () => Date.now() - started < 200, signal: controller.signal });
    expect(calls).toHaveLength(2);
    expect(calls[0]).toBeGreaterThanOrEqual(195);
  });

  it('refreshes at least every maxDeferMs while the processor stays busy', async () => {
    const controller = new AbortController();
    const { refresh, calls } = scripted([{ refreshed: 1, pending: 5 }, { refreshed: 1, pending: 4 }, { refreshed: 1, pending: 3 }], controller);
    await runRollupRefresher({ refresh, intervalMs: 10, busy: () => true, maxDeferMs: 150, signal: controller.signal });
    expect(calls).toHaveLength(3);
    expect(calls[0]).toBeGreaterThanOrEqual(145);
    expect((calls[1] ?? 0) - (calls[0] ?? 0)).toBeGreaterThanOrEqual(145);
    expect((calls[2] ?? 0) - (calls[1] ?? 0)).toBeGreaterThanOrEqual(145);
  });

  it('reports one failure and one recovery, however many refreshes fail in between', async () => {
    const controller = new AbortController();
    const down = new Error('MongoDB down');
    const { refresh, calls } = scripted([down, down, down, { refreshed: 3, pending: 0 }, { refreshed: 0, pending: 0 }], controller);
    const changes: unknown[] = [];
    await runRollupRefresher({ refresh, intervalMs: 10, signal: controller.signal, onStateChange: (c) => changes.push(c) });
    expect(calls).toHaveLength(5);
    expect(changes).toEqual([{ failing: true, error: down }, { failing: false }]);
  });

  it('ends when the signal aborts during its pause', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    await runRollupRefresher({ refresh: async () => ({ refreshed: 0, pending: 0 }), intervalMs: 60_000, signal: controller.signal });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
