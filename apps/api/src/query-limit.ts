import { apiError, retryAfter, type ErrorKind } from './errors';

/** Seconds a client told `busy` should wait before it asks again. */
export const BUSY_RETRY_AFTER_SECONDS = 1;

export const BUSY: ErrorKind = {
  status: 503,
  code: 'busy',
  description: 'The API is running API_MAX_CONCURRENT_QUERIES queries already: try again after Retry-After',
  ...retryAfter('busy', BUSY_RETRY_AFTER_SECONDS),
};

/**
 * At most `max` store queries at once: each holds memory until MongoDB answers, so a burst past
 * the limit is refused at once (503 `busy`) rather than queued in memory.
 */
export class QueryLimit {
  private running = 0;

  constructor(readonly max: number) {}

  /** Runs `query` in a free slot, held until it settles, even after its caller stopped waiting (a 504). */
  async run<T>(query: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) {
      throw apiError(BUSY, `The API is running ${this.max} queries already; try again in ${BUSY_RETRY_AFTER_SECONDS} s`);
    }
    this.running++;
    try {
      return await query();
    } finally {
      this.running--;
    }
  }
}
