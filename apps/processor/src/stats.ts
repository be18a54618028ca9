import type { Logger } from '@tally/runtime';

export interface Counts {
  stored: number;
  duplicates: number;
  deadLettered: Record<string, number>;
}

export interface Stats {
  stored(duplicate: boolean): void;
  deadLettered(reason: string): void;
  /** Everything since the start. */
  readonly total: Readonly<Counts>;
  /** Logs what is not logged yet, then the totals as a `summary` line (at shutdown). */
  summary(): void;
}

const noCounts = (): Counts => ({ stored: 0, duplicates: 0, deadLettered: {} });

/**
 * Counts what happened and logs it every `everyMs`, in aggregate (never one line per message),
 * and in total in a `summary` line at shutdown.
 */
export function createStats(logger: Logger, everyMs = 10_000): Stats {
  let recent = noCounts();
  const total = noCounts();
  const flush = () => {
    if (recent.stored > 0) logger.info({ stored: recent.stored, duplicates: recent.duplicates }, 'stored readings');
    if (Object.keys(recent.deadLettered).length > 0) {
      logger.warn({ byReason: recent.deadLettered }, 'dead-lettered messages');
    }
    recent = noCounts();
  };
  const timer = setInterval(flush, everyMs);
  timer.unref();
  return {
    stored(duplicate) {
      for (const counts of [recent, total]) {
        counts.stored++;
        if (duplicate) counts.duplicates++;
      }
    },
    deadLettered(reason) {
      for (const counts of [recent, total]) counts.deadLettered[reason] = (counts.deadLettered[reason] ?? 0) + 1;
    },
    total,
    summary() {
      clearInterval(timer);
      flush();
      logger.info(total, 'summary');
    },
  };
}
