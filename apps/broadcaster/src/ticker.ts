export interface TickerOptions {
  /** Time between ticks; fractions are fine (`1000 / rate`). */
  intervalMs: number;
  /** Stop after this many ticks; unbounded when absent. */
  count?: number;
  /** Tick `index` was due at `dueAt` (ms since the epoch): `start + index * intervalMs`. */
  onTick(index: number, dueAt: number): void;
  /** @default Date.now */
  now?: () => number;
}

export interface Ticker {
  /** Ticks emitted so far. */
  readonly ticks: number;
  /** Resolves when `count` ticks are done, or on `stop()`. */
  readonly done: Promise<void>;
  stop(): void;
}

/**
 * Calls `onTick` for tick n at start + n × interval, the first at once. The schedule never drifts:
 * each wait is computed from the start, not from the previous tick, and ticks that fell due while
 * the event loop was busy are all emitted, late but with their own due time.
 */
export function startTicker({ intervalMs, count, onTick, now = Date.now }: TickerOptions): Ticker {
  if (!(intervalMs > 0)) throw new RangeError('intervalMs must be positive');
  const start = now();
  let ticks = 0;
  let timer: NodeJS.Timeout | undefined;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const finished = () => count !== undefined && ticks >= count;
  const dueAt = (index: number) => start + index * intervalMs;

  const run = () => {
    timer = undefined;
    const current = now();
    while (!finished() && dueAt(ticks) <= current) {
      onTick(ticks, dueAt(ticks));
      ticks++;
    }
    if (finished()) finish();
    else timer = setTimeout(run, Math.max(0, Math.ceil(dueAt(ticks) - now())));
  };
  run();

  return {
    get ticks() {
      return ticks;
    },
    done,
    stop() {
      clearTimeout(timer);
      finish();
    },
  };
}
