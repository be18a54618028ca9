import { Backoff, settlesWithin, type BackoffOptions } from '@tally/runtime';

export interface OutboxOptions<T> {
  /** Sends one item; resolves once it is safely delivered, rejects to have it retried. */
  publish(item: T): Promise<void>;
  /** Most items held waiting (in flight not included); beyond it the oldest are dropped. */
  capacity: number;
  /**
   * Most publishes in flight at once. With 1, items are delivered strictly in order.
   * @default 1
   */
  window?: number;
  /**
   * Delay before retrying after a failed publish, doubled after each further failure.
   * @default { minMs: 100, maxMs: 5000 }
   */
  retry?: BackoffOptions;
  /** Told whenever items are dropped, with how many. */
  onDrop?: (count: number) => void;
  /** Told about every failed publish (the item is retried). */
  onError?: (error: unknown) => void;
}

interface Entry<T> {
  seq: number;
  item: T;
}

/**
 * An ordered, bounded queue of items to publish, retried until delivered: what keeps readings
 * through a broker outage. Failed items go out again before newer ones.
 */
export class Outbox<T> {
  #pending: Entry<T>[] = [];
  #head = 0;
  #retry: Entry<T>[] = [];
  #inFlight = 0;
  #seq = 0;
  readonly #backoff: Backoff;
  #pausedUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Takes no more items (stopping, perhaps still publishing those it has). */
  #closed = false;
  #published = 0;
  #dropped = 0;
  #idle: (() => void)[] = [];
  readonly #options: Required<Pick<OutboxOptions<T>, 'window' | 'retry'>> & OutboxOptions<T>;

  constructor(options: OutboxOptions<T>) {
    if (!(options.capacity >= 1)) throw new RangeError('Outbox capacity must be at least 1');
    this.#options = { window: 1, retry: { minMs: 100, maxMs: 5000 }, ...options };
    this.#backoff = new Backoff(this.#options.retry);
  }

  /** Items waiting, not counting those in flight. */
  get waiting(): number {
    return this.#pending.length - this.#head + this.#retry.length;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get published(): number {
    return this.#published;
  }

  get dropped(): number {
    return this.#dropped;
  }

  push(item: T): void {
    if (this.#closed) throw new Error('Outbox is stopped');
    if (this.waiting >= this.#options.capacity) this.#dropOldest();
    this.#pending.push({ seq: this.#seq++, item });
    this.#pump();
  }

  /** Resolves once every item pushed so far has been published or dropped. */
  drained(): Promise<void> {
    if (this.waiting === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Takes no more items and sends nothing more — with `publishWaiting`, not before the items waiting
   * are published — and resolves with the number of unsent items once the in-flight ones settle,
   * or after `timeoutMs` in all (a publish stuck on an unreachable broker then counts as unsent,
   * and so does what still waited).
   */
  async stop(timeoutMs = Infinity, { publishWaiting = false } = {}): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    this.#closed = true;
    if (publishWaiting) await settlesWithin(this.drained(), timeoutMs);
    this.#stopped = true;
    clearTimeout(this.#timer);
    const settled = (async () => {
      while (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    })();
    await settlesWithin(settled, Math.max(0, deadline - performance.now()));
    return this.waiting + this.#inFlight;
  }

  #dropOldest(): void {
    const fromRetry = this.#retry.length > 0;
    if (fromRetry) this.#retry.shift();
    else this.#head++;
    this.#dropped++;
    this.#options.onDrop?.(1);
  }

  #take(): Entry<T> | undefined {
    const retried = this.#retry.shift();
    if (retried) return retried;
    if (this.#head >= this.#pending.length) return undefined;
    const entry = this.#pending[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
    return entry;
  }

  #pump(): void {
    while (!this.#stopped && this.#inFlight < this.#options.window) {
      const wait = this.#pausedUntil - Date.now();
      if (wait > 0) {
        this.#timer ??= setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, wait);
        return;
      }
      const entry = this.#take();
      if (!entry) return;
      this.#send(entry);
    }
  }

  #send(entry: Entry<T>): void {
    this.#inFlight++;
    this.#options.publish(entry.item).then(
      () => {
        this.#published++;
        this.#backoff.reset();
        this.#settle();
      },
      (error: unknown) => {
        this.#requeue(entry);
        this.#pausedUntil = Date.now() + this.#backoff.next();
        this.#options.onError?.(error);
        this.#settle();
      },
    );
  }

  #requeue(entry: Entry<T>): void {
    let at = this.#retry.length;
    while (at > 0 && (this.#retry[at - 1] as Entry<T>).seq > entry.seq) at--;
    this.#retry.splice(at, 0, entry);
  }

  #settle(): void {
    this.#inFlight--;
    this.#pump();
    if (this.#inFlight === 0 && (this.#stopped || this.waiting === 0)) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}
