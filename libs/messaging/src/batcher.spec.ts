import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Batcher } from './batcher';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

const double = async (items: readonly number[]) => items.map((n) => n * 2);

describe('Batcher', () => {
  it('flushes as soon as maxSize items wait, and gives each item its own result', async () => {
    const flush = vi.fn(double);
    const batcher = new Batcher({ maxSize: 3, maxWaitMs: 1000, flush });
    const results = Promise.all([1, 2, 3].map((n) => batcher.add(n)));
    await vi.advanceTimersByTimeAsync(0);
    expect(flush).toHaveBeenCalledWith([1, 2, 3]);
    expect(await results).toEqual([2, 4, 6]);
  });

  it('flushes a partial batch maxWaitMs after its first item', async () => {
    const flush = vi.fn(double);
    const batcher = new Batcher({ maxSize: 100, maxWaitMs: 50, flush });
    void batcher.add(1);
    await vi.advanceTimersByTimeAsync(30);
    void batcher.add(2);
    await vi.advanceTimersByTimeAsync(19);
    expect(flush).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(flush).toHaveBeenCalledWith([1, 2]);
  });

  it('retries a failed flush with capped exponential backoff until it succeeds, dropping nothing', async () => {
    let failures = 4;
    const flush = vi.fn(async (items: readonly number[]) => {
      if (failures-- > 0) throw new Error('MongoDB down');
      return items.map((n) => n * 2);
    });
    const onFlushError = vi.fn();
    const onRecovered = vi.fn();
    const batcher = new Batcher({
      maxSize: 2,
      maxWaitMs: 10,
      flush,
      retry: { minMs: 100, maxMs: 300 },
      onFlushError,
      onRecovered,
    });
    const results = Promise.all([batcher.add(1), batcher.add(2)]);
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(100 + 200 + 300 + 300);
    expect(await results).toEqual([2, 4]);
    expect(onFlushError.mock.calls.map(([, attempt, delay]) => [attempt, delay])).toEqual([
      [1, 100],
      [2, 200],
      [3, 300],
      [4, 300],
    ]);
    expect(onRecovered).toHaveBeenCalledWith(900);
    expect(flush).toHaveBeenCalledTimes(5);
  });

  it('keeps at most `concurrency` flushes running', async () => {
    const pending: (() => void)[] = [];
    const flush = vi.fn(
      (items: readonly number[]) => new Promise<number[]>((resolve) => pending.push(() => resolve([...items]))),
    );
    const batcher = new Batcher({ maxSize: 1, maxWaitMs: 10, flush, concurrency: 2 });
    [1, 2, 3].forEach((n) => void batcher.add(n));
    await vi.advanceTimersByTimeAsync(0);
    expect(flush).toHaveBeenCalledTimes(2);
    pending.shift()?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(flush).toHaveBeenCalledTimes(3);
    expect(flush.mock.calls.map(([items]) => items)).toEqual([[1], [2], [3]]);
  });

  it('close() flushes what waits at once and resolves when every item has its result', async () => {
    const flush = vi.fn(double);
    const batcher = new Batcher({ maxSize: 100, maxWaitMs: 60_000, flush });
    const result = batcher.add(21);
    await batcher.close();
    expect(await result).toBe(42);
    expect(flush).toHaveBeenCalledTimes(1);
  });
});
