import { describe, expect, it, vi } from 'vitest';
import { Outbox } from './outbox';

/** A publish whose outcome the test decides, one call at a time. */
function controlledPublish() {
  const calls: { item: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  const publish = (item: number) =>
    new Promise<void>((resolve, reject) => calls.push({ item, resolve, reject }));
  return { calls, publish };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Outbox', () => {
  it('publishes one at a time, in order, with a window of 1', async () => {
    const { calls, publish } = controlledPublish();
    const outbox = new Outbox({ publish, capacity: 10 });
    [1, 2, 3].forEach((n) => outbox.push(n));
    expect(calls.map((c) => c.item)).toEqual([1]);
    calls[0]?.resolve();
    await tick();
    calls[1]?.resolve();
    await tick();
    calls[2]?.resolve();
    await outbox.drained();
    expect(calls.map((c) => c.item)).toEqual([1, 2, 3]);
    expect(outbox.published).toBe(3);
  });

  it('keeps up to window publishes in flight', () => {
    const { calls, publish } = controlledPublish();
    const outbox = new Outbox({ publish, capacity: 100, window: 4 });
    for (let n = 0; n < 10; n++) outbox.push(n);
    expect(calls).toHaveLength(4);
    expect(outbox.inFlight).toBe(4);
    expect(outbox.waiting).toBe(6);
  });

  it('retries a failed publish after a backoff, before anything newer, losing nothing', async () => {
    vi.useFakeTimers();
    try {
      const { calls, publish } = controlledPublish();
      const errors: unknown[] = [];
      const outbox = new Outbox({ publish, capacity: 10, retry: { minMs: 100, maxMs: 400 }, onError: (e) => errors.push(e) });
      outbox.push(1);
      outbox.push(2);
      calls[0]?.reject(new Error('broker down'));
      await vi.advanceTimersByTimeAsync(99);
      expect(calls).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls.map((c) => c.item)).toEqual([1, 1]);
      calls[1]?.reject(new Error('still down'));
      await vi.advanceTimersByTimeAsync(199);
      expect(calls).toHaveLength(2); // backoff doubled to 200 ms
      await vi.advanceTimersByTimeAsync(1);
      calls[2]?.resolve();
      await vi.advanceTimersByTimeAsync(0);
      calls[3]?.resolve();
      await outbox.drained();
      expect(calls.map((c) => c.item)).toEqual([1, 1, 1, 2]);
      expect(errors).toHaveLength(2);
      expect(outbox.published).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('retries failures of a wide window in their original order', async () => {
    vi.useFakeTimers();
    try {
      const { calls, publish } = controlledPublish();
      const outbox = new Outbox({ publish, capacity: 10, window: 3, retry: { minMs: 10, maxMs: 10 } });
      [1, 2, 3, 4].forEach((n) => outbox.push(n));
      calls[2]?.reject(new Error('lost confirm'));
      calls[0]?.reject(new Error('lost confirm'));
      calls[1]?.resolve();
      await vi.advanceTimersByTimeAsync(10);
      expect(calls.slice(3).map((c) => c.item)).toEqual([1, 3, 4]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('drops the oldest waiting items beyond its capacity, and says how many', () => {
    const { calls, publish } = controlledPublish();
    const onDrop = vi.fn();
    const outbox = new Outbox({ publish, capacity: 3, onDrop });
    for (let n = 1; n <= 6; n++) outbox.push(n); // 1 in flight, 2..6 pushed into 3 places
    expect(outbox.dropped).toBe(2);
    expect(onDrop).toHaveBeenCalledTimes(2);
    expect(outbox.waiting).toBe(3);
    calls[0]?.resolve();
    return tick().then(() => expect(calls.map((c) => c.item)).toEqual([1, 4]));
  });

  it('stop() waits for the publish in flight and reports what was never sent', async () => {
    const { calls, publish } = controlledPublish();
    const outbox = new Outbox({ publish, capacity: 10 });
    [1, 2, 3].forEach((n) => outbox.push(n));
    const stopped = outbox.stop();
    let unsent: number | undefined;
    void stopped.then((n) => (unsent = n));
    await tick();
    expect(unsent).toBeUndefined();
    calls[0]?.resolve();
    expect(await stopped).toBe(2);
    expect(calls).toHaveLength(1);
    expect(() => outbox.push(4)).toThrow('Outbox is stopped');
  });

  it('stop with publishWaiting publishes what waits first, takes nothing new meanwhile, and counts what the timeout left', async () => {
    const { calls, publish } = controlledPublish();
    const outbox = new Outbox({ publish, capacity: 10 });
    [1, 2, 3].forEach((n) => outbox.push(n));
    const stopped = outbox.stop(Infinity, { publishWaiting: true });
    expect(() => outbox.push(4)).toThrow('Outbox is stopped');
    for (let i = 0; i < 3; i++) {
      await tick();
      calls[i]?.resolve();
    }
    expect(await stopped).toBe(0);
    expect(calls.map((c) => c.item)).toEqual([1, 2, 3]);
    expect(outbox.published).toBe(3);

    const stuck = new Outbox({ publish: () => new Promise<void>(() => undefined), capacity: 10 });
    [1, 2, 3].forEach((n) => stuck.push(n));
    expect(await stuck.stop(20, { publishWaiting: true })).toBe(3);
  });

  it('stop(timeoutMs) gives up on a publish that never settles, counting it as unsent', async () => {
    const outbox = new Outbox({ publish: () => new Promise<void>(() => undefined), capacity: 10 });
    [1, 2].forEach((n) => outbox.push(n));
    expect(await outbox.stop(20)).toBe(2);
  });
});
