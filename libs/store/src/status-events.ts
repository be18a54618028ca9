import { MongoBulkWriteError, type Collection, type Db, type WriteError } from 'mongodb';
import { withinTimeout } from './errors';
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
}

export interface StatusEventStore {
  collection: Collection<StatusEvent>;
  /** Creates the indexes the queries need; safe to repeat. */
  ensureIndexes(): Promise<void>;
  /**
   * Inserts a batch, unordered, acknowledged by a majority with journaling where the server
   * supports it. A document whose id is already stored counts as stored (a redelivery). Rejects
   * only when the batch as a whole failed (server down, timeout): then it can be retried whole.
   */
  insertReadings(events: readonly StatusEvent[]): Promise<InsertResult[]>;
  /** Readings per status in `[start, end)`, computed by the server with the aggregate pipeline; bounded by `timeoutMs`. */
  countByStatus(range: TimeRange, options: CountOptions): Promise<StatusCounts>;
}

const DUPLICATE_KEY = 11000;

export function createStatusEventStore({ db, insertTimeoutMs = 5000 }: StatusEventStoreOptions): StatusEventStore {
  const collection = db.collection<StatusEvent>(STATUS_EVENTS_COLLECTION);
  return {
    collection,
    ensureIndexes: async () => {
      await withinTimeout(collection.createIndex({ ts: 1, status: 1 }, { name: 'ts_status' }), insertTimeoutMs, 'createIndex');
    },
    countByStatus: (range, options) => withinTimeout(countByStatus(collection, range, options), options.timeoutMs, 'The count'),
    insertReadings: async (events) => {
      if (events.length === 0) return [];
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
