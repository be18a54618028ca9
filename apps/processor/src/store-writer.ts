import { describeError, type BackoffOptions, type Logger } from '@tally/runtime';
import type { StatusEvent } from '@tally/contract';
import { retryUntilDone, StoreError, type InsertResult, type StatusEventStore } from '@tally/store';

export interface StoreWriter {
  /** Writes a batch, retrying while MongoDB is down or hanging: its messages stay unacked meanwhile. */
  insert(events: readonly StatusEvent[]): Promise<InsertResult[]>;
  /** True from a failed write until one succeeds again. */
  readonly failing: boolean;
}

export interface StoreWriterOptions {
  /** Told when the store cannot be prepared on this server at all (no partial indexes): the processor exits. */
  onFatal(error: unknown): void;
  /** @default { minMs: 1000, maxMs: 5000 } */
  prepareBackoff?: BackoffOptions;
}

/**
 * The processor's writes. Nothing is written before the store is prepared (indexes, and on first
 * use the decision whether the rollups can hold every reading — which readings written before it
 * would make untrue); preparing is retried every 1–5 s, unless the server cannot hold the store
 * (`onFatal`). An outage is logged when it starts and when it ends, not per retry. `signal` ends
 * the retries (at shutdown).
 */
export function createStoreWriter(
  store: StatusEventStore,
  logger: Logger,
  signal: AbortSignal,
  { onFatal, prepareBackoff = { minMs: 1000, maxMs: 5000 } }: StoreWriterOptions,
): StoreWriter {
  const ready = retryUntilDone(() => store.ensureIndexes(), {
    backoff: prepareBackoff,
    onError: (error, _attempt, retryInMs) => logger.warn({ err: describeError(error), retryInMs }, 'cannot create indexes yet'),
    retryable: (error) => !isUnsupportedEngine(error),
    signal,
  });
  ready.catch((error: unknown) => {
    if (isUnsupportedEngine(error)) onFatal(error);
  });

  // Since the first write of the outage failed: batches written side by side each fail and recover
  // on their own, and the first to recover may have begun failing well after the outage did.
  let failingSince: number | undefined;
  return {
    get failing() {
      return failingSince !== undefined;
    },
    insert: async (events) => {
      await ready;
      return retryUntilDone(() => store.insertReadings(events), {
        onError: (error, attempt, retryInMs) => {
          if (failingSince !== undefined) return logger.debug({ attempt, retryInMs }, 'MongoDB write failed again');
          failingSince = Date.now();
          logger.warn({ err: describeError(error), retryInMs }, 'MongoDB write failed: holding messages unacked, retrying');
        },
        onRecovered: () => {
          if (failingSince === undefined) return;
          const outageMs = Date.now() - failingSince;
          failingSince = undefined;
          logger.info({ outageMs }, 'MongoDB writes succeed again');
        },
        signal,
      });
    },
  };
}

function isUnsupportedEngine(error: unknown): boolean {
  return error instanceof StoreError && error.code === 'unsupported_engine';
}
