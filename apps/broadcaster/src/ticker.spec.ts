import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Outbox } from './outbox';
import { startTicker } from './ticker';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('startTicker', () => {
  it('does not drift over 10,000 ticks even when each publish takes 300 ms', async () => {
    const due: number[] = [];
    const published: number[] = [];
    const outbox = new Outbox<number>({
      capacity: 100,
      publish: (index) =>
        new Promise((resolve) =>
          setTimeout(() => {
            published.push(index);
            resolve();
          }, 300),
        ),
    });
    const ticker = startTicker({
      intervalMs: 1000,
      onTick: (index, dueAt) => {
        due.push(dueAt);
        outbox.push(index);
      },
    });
    await vi.advanceTimersByTimeAsync(10_000 * 1000 - 1);
    ticker.stop();
    expect(ticker.ticks).toBe(10_000);
    expect(due.every((at, n) => at === 1_000_000 + n * 1000)).toBe(true);
    await vi.advanceTimersByTimeAsync(300);
    expect(published).toHaveLength(10_000);
  });

  it('emits every tick that fell due while the event loop was blocked, with its own due time', () => {
    let now = 0;
    const due: number[] = [];
    vi.setSystemTime(0);
    const ticker = startTicker({ intervalMs: 100, now: () => now, onTick: (_, at) => due.push(at) });
    now = 550; // the loop was busy for 550 ms
    vi.advanceTimersByTime(100);
    expect(due).toEqual([0, 100, 200, 300, 400, 500]);
    ticker.stop();
  });

  it('stops after exactly count ticks', async () => {
    const onTick = vi.fn();
    const ticker = startTicker({ intervalMs: 250, count: 7, onTick });
    let done = false;
    void ticker.done.then(() => (done = true));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(onTick).toHaveBeenCalledTimes(7);
    expect(done).toBe(true);
  });

  it('keeps a fractional interval exact (rate mode: 1000 / 3 ms)', async () => {
    const onTick = vi.fn();
    const ticker = startTicker({ intervalMs: 1000 / 3, onTick });
    await vi.advanceTimersByTimeAsync(60_000);
    ticker.stop();
    expect(onTick).toHaveBeenCalledTimes(181); // ticks at 0, 333.3, ..., 60,000
  });
});
