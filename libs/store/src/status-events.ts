import { MongoBulkWriteError, type Collection, type Db, type WriteError } from 'mongodb';
import { withinTimeout } from './errors';
import { createRollups, type Rollups } from './rollups';
import { countByStatus, type CountOptions, type StatusCounts, type TimeRange } from './status-counts';

/** A stored reading: one document per reading id. */
export interface StatusEvent {
  _id: string;
  status: number;
  /** When the reading was taken. */
  ts: Date;
  /** When the processor received it. */
  receivedAt: Date;
}

export const STATUS_EVENTS_COLLECTION = 'status_events';

/** The outcome of one document of a batch: stored (now or before), or refused with a reason. */
export type InsertResult = { stored: true; duplicate: boolean } | { stored: false; reason: string };

export interface StatusEventStoreOptions {
  db: Db;
  /**
   * Limit for one batch insert (the driver retries within it), and for creating the indexes; past
   * it the call fails with a `StoreError` (code `timeout`) and can be retried, even when the server
   * hangs without closing its connections.
   * @default 5000
   */
  insertTimeoutMs?: number;
  /** Called between the raw insert of a batch and the rollup update that follows it (tests crash there). */
  afterRawInsert?: () => void;
}

export interface StatusEventStore {
  collection: Collection<StatusEvent>;
  /** Counts per status per minute, hour and day, kept exact as readings are written (see rollups.ts). */
  rollups: Rollups;
  /** Creates the indexes the queries need, and the rollups' state; safe to repeat. */
  ensureIndexes(): Promise<void>;
  /**
   * Inserts a batch, unordered, acknowledged by a majority with journaling where the server
   * supports it, then marks the rollup buckets of its readings changed. A document whose id is
   * already stored counts as stored (a redelivery). Rejects only when the batch as a whole failed
   * (server down, timeout): then it can be retried whole.
   */
  insertReadings(events: readonly StatusEvent[]): Promise<InsertResult[]>;
  /** Readings per status in `[start, end)`: from the rollups where they are clean, else the raw readings; bounded by `timeoutMs`. */
  countByStatus(range: TimeRange, options: CountOptions): Promise<StatusCounts>;
  /** Readings per status in `[start, end)`, counted from the raw readings alone with the aggregate pipeline. */
  countRawByStatus(range: TimeRange, options: CountOptions): Promise<StatusCounts>;
}

const DUPLICATE_KEY = 11000;

export function createStatusEventStore({ db, insertTimeoutMs = 5000, afterRawInsert }: StatusEventStoreOptions): StatusEventStore {
  const collection = db.collection<StatusEvent>(STATUS_EVENTS_COLLECTION);
  const rollups = createRollups(db, collection);
  const insertRaw = async (events: readonly StatusEvent[]): Promise<InsertResult[]> => {
    try {
      await withinTimeout(
        collection.insertMany([...events], {
          ordered: false,
          writeConcern: { w: 'majority', journal: true },
          timeoutMS: insertTimeoutMs,
        }),
        insertTimeoutMs,
        'insertMany',
      );
      return events.map(() => ({ stored: true, duplicate: false }));
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError) || isWholeBatchFailure(error)) throw error;
      return perDocumentResults(events.length, error);
    }
  };
  return {
    collection,
    rollups,
    ensureIndexes: async () => {
      await withinTimeout(collection.createIndex({ ts: 1, status: 1 }, { name: 'ts_status' }), insertTimeoutMs, 'createIndex');
      await withinTimeout(rollups.ensure(), insertTimeoutMs, 'Preparing the rollups');
    },
    countByStatus: (range, options) => withinTimeout(rollups.count(range, options), options.timeoutMs, 'The count'),
    countRawByStatus: (range, options) =>
      withinTimeout(countByStatus(collection, range, options), options.timeoutMs, 'The count'),
    insertReadings: async (events) => {
      if (events.length === 0) return [];
      const results = await insertRaw(events);
      afterRawInsert?.();
      // Duplicates too: the write that stored them first may have ended before marking.
      const stored = events.filter((_, i) => results[i]?.stored).map((event) => event.ts);
      await withinTimeout(rollups.markChanged(stored), insertTimeoutMs, 'Marking the rollups');
      return results;
    },
  };
}

function isWholeBatchFailure(error: MongoBulkWriteError): boolean {
  return error.writeConcernError !== undefined || writeErrorsOf(error).length === 0;
}

function writeErrorsOf(error: MongoBulkWriteError): readonly WriteError[] {
  const errors = error.writeErrors;
  return Array.isArray(errors) ? errors : [errors as WriteError];
}

function perDocumentResults(count: number, error: MongoBulkWriteError): InsertResult[] {
  const results: InsertResult[] = Array.from({ length: count }, () => ({ stored: true, duplicate: false }));
  for (const { index, code, errmsg } of writeErrorsOf(error)) {
    results[index] =
      code === DUPLICATE_KEY ? { stored: true, duplicate: true } : { stored: false, reason: `${code}: ${errmsg}` };
  }
  return results;
}
