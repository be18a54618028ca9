import type { ChangedMinute } from '@tally/messaging';

/** What one tick read again: the minutes announced before it, or everything (a poll). */
interface Entry {
  seq: number;
  at: number;
  minutes: readonly ChangedMinute[] | 'all';
}

/** What a client that saw the event of tick `seq` missed since: the minutes, or `undefined` when only a whole series will do. */
export interface Missed {
  minutes: readonly ChangedMinute[];
  /** When the tick it saw ran (a window's range then). */
  sawAt: number;
}

/**
 * The last ticks' changes, for `Last-Event-ID`: a client that reconnects within them is sent what
 * changed since its last event, any other the whole series. Bounded by ticks and by minutes held.
 */
export class TickHistory {
  #entries: Entry[];
  #minutes = 0;

  constructor(
    startedAt: number,
    private readonly maxTicks = 1000,
    private readonly maxMinutes = 100_000,
  ) {
    this.#entries = [{ seq: 0, at: startedAt, minutes: [] }];
  }

  /** The newest tick's number. */
  get seq(): number {
    return (this.#entries.at(-1) as Entry).seq;
  }

  record(at: number, minutes: readonly ChangedMinute[] | 'all'): number {
    const seq = this.seq + 1;
    this.#entries.push({ seq, at, minutes });
    this.#minutes += minutes === 'all' ? 0 : minutes.length;
    while (this.#entries.length > this.maxTicks || (this.#minutes > this.maxMinutes && this.#entries.length > 1)) {
      const dropped = this.#entries.shift() as Entry;
      this.#minutes -= dropped.minutes === 'all' ? 0 : dropped.minutes.length;
    }
    return seq;
  }

  /** What changed after tick `seq`; `undefined` when that is no longer known (or never was). */
  since(seq: number): Missed | undefined {
    const first = this.#entries[0] as Entry;
    if (!Number.isSafeInteger(seq) || seq < first.seq || seq > this.seq) return undefined;
    const after = this.#entries.slice(seq - first.seq);
    const saw = after.shift() as Entry;
    if (after.some((entry) => entry.minutes === 'all')) return undefined;
    return { minutes: after.flatMap((entry) => entry.minutes as ChangedMinute[]), sawAt: saw.at };
  }
}
