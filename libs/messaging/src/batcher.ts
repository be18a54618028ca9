export interface BatcherOptions<T, R> {
  /** Flush as soon as this many items wait. */
  maxSize: number;
  /** Flush at most this long after the first item of a batch arrived. */
  maxWaitMs: number;
  /**
   * Batches flushed at once: while one is being written the next can be, too.
   * @default 1
   */
  concurrency?: number;
  /** Handles a batch; returns one result per item, in order. A rejection retries the whole batch. */
  flush(items: readonly T[]): Promise<readonly R[]>;
  /**
   * Delay before retrying a failed flush, doubled after each further failure.
   * @default { minMs: 100, maxMs: 5000 }
   */
  retry?: { minMs: number; maxMs: number };
  /** Told about every failed flush, before its retry. */
  onFlushError?(error: unknown, attempt: number, retryInMs: number): void;
  /** Told when a flush succeeds after failures: how long flushing was failing. */
  onRecovered?(failingForMs: number): void;
}

interface Waiting<T, R> {
  item: T;
  resolve(result: R): void;
}

/**
 * Gathers items into batches (by size or age, whichever comes first) and flushes one batch at a
 * time, retrying a failed flush with capped exponential backoff until it succeeds. Each `add`
 * resolves with its item's result once its batch is flushed; nothing is ever dropped.
 */
export class Batcher<T, R> {
  #waiting: Waiting<T, R>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing = new Set<Promise<void>>();
  #closed = false;
  readonly #options: BatcherOptions<T, R> & { retry: { minMs: number; maxMs: number }; concurrency: number };

  constructor(options: BatcherOptions<T, R>) {
    this.#options = { retry: { minMs: 100, maxMs: 5000 }, concurrency: 1, ...options };
  }

  /** Items waiting for a flush (not counting the batch being flushed). */
  get size(): number {
    return this.#waiting.length;
  }

  add(item: T): Promise<R> {
    return new Promise((resolve) => {
      this.#waiting.push({ item, resolve });
      if (this.#waiting.length >= this.#options.maxSize) this.#kick();
      else this.#timer ??= setTimeout(() => this.#kick(), this.#options.maxWaitMs);
    });
  }

  /** Flushes what waits now, and resolves once every added item has its result. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#kick();
    while (this.#flushing.size > 0) await Promise.all(this.#flushing);
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#flushing.size < this.#options.concurrency && this.#waiting.length > 0) {
      const flushing: Promise<void> = this.#flushBatch().finally(() => {
        this.#flushing.delete(flushing);
        if (this.#waiting.length >= this.#options.maxSize || (this.#closed && this.#waiting.length > 0)) this.#kick();
        else if (this.#waiting.length > 0) this.#timer ??= setTimeout(() => this.#kick(), this.#options.maxWaitMs);
      });
      this.#flushing.add(flushing);
    }
  }

  async #flushBatch(): Promise<void> {
    const batch = this.#waiting.splice(0, this.#options.maxSize);
    const items = batch.map((waiting) => waiting.item);
    let failingSince: number | undefined;
    for (let attempt = 1, delay = this.#options.retry.minMs; ; attempt++) {
      try {
        const results = await this.#options.flush(items);
        if (failingSince !== undefined) this.#options.onRecovered?.(Date.now() - failingSince);
        batch.forEach((waiting, i) => waiting.resolve(results[i] as R));
        return;
      } catch (error) {
        failingSince ??= Date.now();
        this.#options.onFlushError?.(error, attempt, delay);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, this.#options.retry.maxMs);
      }
    }
  }
}
