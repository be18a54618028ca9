import type { RefreshResult } from '@tally/store';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runRollupRefresher, type RollupRefresherOptions } from './rollup-refresher';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});

afterEach(() => {
  vi.useRealTimers();
});

/** A refresh that answers from a script, then aborts the refresher when the script runs out. */
function scripted(script: (RefreshResult | Error)[], controller: AbortController) {
  const calls: number[] = [];
  const refresh = async () => {
    calls.push(Date.now());
    const next = script.shift();
    if (script.length === 0) controller.abort();
    if (next instanceof Error) throw next;
    return next ?? { refreshed: 0, pending: 0 };
  };
  return { refresh, calls };
}

/** Runs the refresher on the fake clock until it ends. */
async function run(options: RollupRefresherOptions): Promise<void> {
  let ended = false;
  const running = runRollupRefresher(options).then(() => (ended = true));
  for (let step = 0; !ended; step++) {
    if (step === 1000) throw new Error('the refresher did not end');
    await vi.advanceTimersToNextTimerAsync();
  }
  await running;
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
    await run({ refresh, intervalMs: 100, signal: controller.signal, onRefreshed: (r) => refreshed.push(r.refreshed) });
    expect(calls).toEqual([0, 100, 200, 300]);
    expect(refreshed).toEqual([500, 500, 200]);
  });

  it('waits while the processor is busy, and refreshes once it is not', async () => {
    const controller = new AbortController();
    const { refresh, calls } = scripted([{ refreshed: 9, pending: 0 }, { refreshed: 0, pending: 0 }], controller);
    await run({ refresh, intervalMs: 20, busy: () => Date.now() < 200, signal: controller.signal });
    expect(calls).toEqual([200, 220]);
  });

  it('refreshes every maxDeferMs while the processor stays busy', async () => {
    const controller = new AbortController();
    const { refresh, calls } = scripted([{ refreshed: 1, pending: 5 }, { refreshed: 1, pending: 4 }, { refreshed: 1, pending: 3 }], controller);
    await run({ refresh, intervalMs: 10, busy: () => true, maxDeferMs: 150, signal: controller.signal });
    expect(calls).toEqual([150, 300, 450]);
  });

  it('reports one failure and one recovery, however many refreshes fail in between', async () => {
    const controller = new AbortController();
    const down = new Error('MongoDB down');
    const { refresh, calls } = scripted([down, down, down, { refreshed: 3, pending: 0 }, { refreshed: 0, pending: 0 }], controller);
    const changes: unknown[] = [];
    await run({ refresh, intervalMs: 10, signal: controller.signal, onStateChange: (c) => changes.push(c) });
    expect(calls).toEqual([0, 10, 20, 30, 40]);
    expect(changes).toEqual([{ failing: true, error: down }, { failing: false }]);
  });

  it('ends when the signal aborts during its pause, not at the pause\'s end', async () => {
    const controller = new AbortController();
    let ended = false;
    const refresh = vi.fn(async () => ({ refreshed: 0, pending: 0 }));
    void runRollupRefresher({ refresh, intervalMs: 60_000, signal: controller.signal }).then(() => (ended = true));
    await vi.advanceTimersByTimeAsync(50);
    expect(ended).toBe(false);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(ended).toBe(true);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(Date.now()).toBe(50);
  });
});
