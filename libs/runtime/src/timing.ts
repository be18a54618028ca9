/**
 * The waiting every app does — retries with backoff, bounded waits, pauses a shutdown can cut
 * short — written once.
 */

export interface BackoffOptions {
  /** The first delay, and the delay again after `reset()`. */
  minMs: number;
  /** Delays double after each failure up to this. */
  maxMs: number;
}

/** Capped exponential backoff: `next()` gives minMs, 2·minMs, 4·minMs, … up to maxMs. */
export class Backoff {
  #next: number;

  constructor(private readonly options: BackoffOptions) {
    this.#next = options.minMs;
  }

  /** The delay to wait now; the one after it is twice as long (at most `maxMs`). */
  next(): number {
    const delay = this.#next;
    this.#next = Math.min(delay * 2, this.options.maxMs);
    return delay;
  }

  /** After a success: the next failure waits `minMs` again. */
  reset(): void {
    this.#next = this.options.minMs;
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts (it never rejects). The timer does not hold the process open. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * `promise`'s outcome, or — when `ms` pass first — what `onTimeout` returns (or throws). The
 * promise itself goes on; only the wait for it ends.
 */
export async function raceTimeout<T, U>(promise: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  if (!Number.isFinite(ms)) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * True once `promise` settles (either way), false if `ms` pass first. For bounded waits at
 * shutdown: what has not settled by then is given up on.
 */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = promise.then(
    () => true,
    () => true,
  );
  return raceTimeout(settled, ms, () => false);
}
