import { Backoff, sleep, type BackoffOptions } from '@tally/runtime';

export interface RetryOptions {
  /**
   * Delay before the second attempt, doubled after each further failure up to `maxMs`.
   * @default { minMs: 100, maxMs: 5000 }
   */
  backoff?: BackoffOptions;
  /** Told about every failed attempt, before waiting to retry. */
  onError?(error: unknown, attempt: number, retryInMs: number): void;
  /** Told when an attempt succeeds after failures: how long the operation kept failing. */
  onRecovered?(failingForMs: number): void;
  /** Stops retrying: the pending wait ends and the last error is thrown. */
  signal?: AbortSignal;
  /**
   * Whether a failure can pass: one that cannot is thrown at once, without `onError`.
   * @default every failure can
   */
  retryable?(error: unknown): boolean;
}

/**
 * Runs `operation` until it succeeds, waiting with capped exponential backoff between attempts:
 * for writes that must not be given up on while MongoDB is down or hanging.
 */
export async function retryUntilDone<T>(operation: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const backoff = new Backoff(options.backoff ?? { minMs: 100, maxMs: 5000 });
  let failingSince: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await operation();
      if (failingSince !== undefined) options.onRecovered?.(Date.now() - failingSince);
      return result;
    } catch (error) {
      failingSince ??= Date.now();
      if (options.signal?.aborted || options.retryable?.(error) === false) throw error;
      const delay = backoff.next();
      options.onError?.(error, attempt, delay);
      await sleep(delay, options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}
