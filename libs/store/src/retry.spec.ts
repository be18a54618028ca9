import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { retryUntilDone } from './retry';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

function failingTimes(failures: number) {
  return vi.fn(async () => {
    if (failures-- > 0) throw new Error('MongoDB down');
    return 'stored';
  });
}

describe('retryUntilDone', () => {
  it('returns the first success without waiting', async () => {
    const operation = failingTimes(0);
    expect(await retryUntilDone(operation)).toBe('stored');
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('retries with capped exponential backoff until the operation succeeds, then reports the outage', async () => {
    const operation = failingTimes(4);
    const onError = vi.fn();
    const onRecovered = vi.fn();
    const result = retryUntilDone(operation, { backoff: { minMs: 100, maxMs: 300 }, onError, onRecovered });
    await vi.advanceTimersByTimeAsync(100 + 200 + 300);
    expect(operation).toHaveBeenCalledTimes(4);
    await vi.advanceTimersByTimeAsync(300);
    expect(await result).toBe('stored');
    expect(onError.mock.calls.map(([, attempt, delay]) => [attempt, delay])).toEqual([
      [1, 100],
      [2, 200],
      [3, 300],
      [4, 300],
    ]);
    expect(onRecovered).toHaveBeenCalledWith(900);
  });

  it('gives up with the last error once aborted, without waiting out the backoff', async () => {
    const operation = failingTimes(Infinity);
    const controller = new AbortController();
    const result = retryUntilDone(operation, { backoff: { minMs: 5000, maxMs: 5000 }, signal: controller.signal });
    const outcome = expect(result).rejects.toThrow('MongoDB down');
    await vi.advanceTimersByTimeAsync(10);
    controller.abort();
    await outcome;
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('throws at once a failure that is not retryable, without telling onError', async () => {
    const operation = failingTimes(Infinity);
    const onError = vi.fn();
    await expect(retryUntilDone(operation, { onError, retryable: () => false })).rejects.toThrow('MongoDB down');
    expect(operation).toHaveBeenCalledTimes(1);
    expect(onError).not.toHaveBeenCalled();
  });
});
