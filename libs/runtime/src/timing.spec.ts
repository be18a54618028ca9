import { describe, expect, it, vi } from 'vitest';
import { Backoff, raceTimeout, settlesWithin, sleep } from './timing';

describe('Backoff', () => {
  it('doubles from minMs up to maxMs, and starts over after reset', () => {
    const backoff = new Backoff({ minMs: 100, maxMs: 500 });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400, 500, 500]);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });
});

describe('sleep', () => {
  it('ends early when its signal aborts', async () => {
    vi.useFakeTimers();
    try {
      const stopping = new AbortController();
      let ended = false;
      void sleep(60_000, stopping.signal).then(() => (ended = true));
      await vi.advanceTimersByTimeAsync(1000);
      expect(ended).toBe(false);
      stopping.abort();
      await vi.advanceTimersByTimeAsync(0);
      expect(ended).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('waits the time it is given', async () => {
    const started = Date.now();
    await sleep(30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(29);
  });
});

describe('raceTimeout', () => {
  it("answers with the promise's value when it comes first", async () => {
    expect(await raceTimeout(Promise.resolve('value'), 1000, () => 'late')).toBe('value');
  });

  it("answers with onTimeout's value, or its error, when the time is up first", async () => {
    const never = new Promise<string>(() => undefined);
    expect(await raceTimeout(never, 5, () => 'late')).toBe('late');
    await expect(
      raceTimeout(never, 5, () => {
        throw new Error('too slow');
      }),
    ).rejects.toThrow('too slow');
  });
});

describe('settlesWithin', () => {
  it('is true for a promise that settles in time, either way, and false for one that does not', async () => {
    expect(await settlesWithin(Promise.reject(new Error('no')), 1000)).toBe(true);
    expect(await settlesWithin(Promise.resolve(), 1000)).toBe(true);
    expect(await settlesWithin(new Promise(() => undefined), 5)).toBe(false);
  });
});
