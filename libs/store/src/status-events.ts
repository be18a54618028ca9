import { sleep } from '@tally/runtime';
import type { StatusEvent } from '@tally/contract';
import { MongoBulkWriteError, type Collection, type Db, type WriteError } from 'mongodb';
import { DUPLICATE_KEY, isTransientWriteError, StoreError, withinTimeout } from './errors';
import type { DeviceCounts } from './device-counts';
import type { SeriesPoint } from './fleet-counts';
import { createRollups, type Rollups } from './rollups';
import type { SeriesShape } from './series-calendar';
import { countByStatus, type CountOptions, type StatusCounts, type TimeRange } from './status-counts';

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
   * already stored, or comes earlier in the batch, counts as stored (a redelivery). A document
   * that meets a deadlock or lock timeout is retried alone, a few times. Rejects only when the
   * batch as a whole failed (server down, timeout, conflicts that persist): then it can be retried whole.
   */
  insertReadings(events: readonly StatusEvent[]): Promise<InsertResult[]>;
  /**
   * Readings per status in `[start, end)` (of `devices` together, when given): from the rollups
   * where they are clean, else the raw readings; bounded by `timeoutMs`.
   */
  countByStatus(range: TimeRange, options: CountOptions): Promise<StatusCounts>;
  /** The counts of each point of `shape` (see `seriesShape`), of `devices` together when given. */
  series(shape: SeriesShape, options: CountOptions): Promise<SeriesPoint[]>;
  /** Counts per device, the devices' top list and their directory. */
  devices: DeviceCounts;
  /** Readings per status in `[start, end)`, counted from the raw readings alone with the aggregate pipeline. */
  countRawByStatus(range: TimeRange, options: CountOptions): Promise<StatusCounts>;
}

/** Attempts of a document that meets a deadlock or lock timeout, before the batch is failed whole. */
const TRANSIENT_ATTEMPTS = 4;
/** The wait before the second attempt of such documents, doubled before each further one. */
const TRANSIENT_BACKOFF_MS = 20;

export function createStatusEventStore({ db, insertTimeoutMs = 5000, afterRawInsert }: StatusEventStoreOptions): StatusEventStore {
  const collection = db.collection<StatusEvent>(STATUS_EVENTS_COLLECTION);
  const rollups = createRollups(db, collection);
  const insertOnce = async (events: readonly StatusEvent[]): Promise<Map<number, WriteError>> => {
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
      return new Map();
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError) || isWholeBatchFailure(error)) throw error;
      return new Map(writeErrorsOf(error).map((writeError) => [writeError.index, writeError]));
    }
  };
  const insertRaw = async (events: readonly StatusEvent[]): Promise<InsertResult[]> => {
    const firstCopy = new Map<string, number>();
    events.forEach((event, i) => firstCopy.set(event._id, firstCopy.get(event._id) ?? i));
    // In id order: two writers holding copies of the same ids then lock them in the same order and
    // wait for each other, where opposite orders deadlocked (PostgreSQL under FerretDB).
    let pending = [...firstCopy.values()].sort((a, b) => compareIds(events[a] as StatusEvent, events[b] as StatusEvent));
    const results = new Map<number, InsertResult>();
    for (let attempt = 1; pending.length > 0; attempt++) {
      const failed = await insertOnce(pending.map((i) => events[i] as StatusEvent));
      const transient: { event: number; error: WriteError }[] = [];
      pending.forEach((event, position) => {
        const error = failed.get(position);
        if (error && isTransientWriteError(error.code)) transient.push({ event, error });
        else results.set(event, resultOf(error));
      });
      pending = transient.map(({ event }) => event);
      if (pending.length === 0) break;
      if (attempt >= TRANSIENT_ATTEMPTS) {
        const { code, errmsg } = (transient[0] as { error: WriteError }).error;
        throw new StoreError('write_conflict', `${pending.length} readings still met write conflicts after ${attempt} attempts (${code}: ${errmsg})`);
      }
      await sleep(TRANSIENT_BACKOFF_MS * 2 ** (attempt - 1));
    }
    return events.map((event, i) => {
      const first = firstCopy.get(event._id) as number;
      const result = results.get(first) as InsertResult;
      return first === i || !result.stored ? result : { stored: true, duplicate: true };
    });
  };
  return {
    collection,
    rollups,
    ensureIndexes: async () => {
      await withinTimeout(collection.createIndex({ ts: 1, status: 1 }, { name: 'ts_status' }), insertTimeoutMs, 'createIndex');
      // A device's readings over a range: the ends of its counts, and everything newer than its hour slots.
      await withinTimeout(collection.createIndex({ device: 1, ts: 1 }, { name: 'device_ts' }), insertTimeoutMs, 'createIndex');
      await withinTimeout(rollups.ensure(), insertTimeoutMs, 'Preparing the rollups');
    },
    devices: rollups.devices,
    countByStatus: (range, { devices, ...options }) =>
      withinTimeout(devices ? rollups.devices.count(range, devices, options) : rollups.count(range, options), options.timeoutMs, 'The count'),
    series: (shape, { devices, ...options }) =>
      withinTimeout(
        devices ? rollups.devices.series(shape, devices, options) : rollups.series(shape, options),
        options.timeoutMs,
        'The series',
      ),
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

function resultOf(error: WriteError | undefined): InsertResult {
  if (!error) return { stored: true, duplicate: false };
  return error.code === DUPLICATE_KEY ? { stored: true, duplicate: true } : { stored: false, reason: `${error.code}: ${error.errmsg}` };
}

function compareIds(a: StatusEvent, b: StatusEvent): number {
  return a._id < b._id ? -1 : a._id > b._id ? 1 : 0;
}
