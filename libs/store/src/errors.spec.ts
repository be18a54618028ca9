import { describe, expect, it } from 'vitest';
import { classifyStoreError, StoreError, withinTimeout } from './errors';

describe('withinTimeout', () => {
  it('gives the result of an operation that settles in time', async () => {
    await expect(withinTimeout(Promise.resolve(42), 1000, 'x')).resolves.toBe(42);
    await expect(withinTimeout(Promise.reject(new Error('boom')), 1000, 'x')).rejects.toThrow('boom');
  });

  it('fails with a timeout StoreError when the operation hangs', async () => {
    const error = await withinTimeout(new Promise(() => undefined), 20, 'insertMany').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'timeout', message: 'insertMany did not finish within 20 ms' });
    expect(classifyStoreError(error)).toBe('timeout');
  });
});
