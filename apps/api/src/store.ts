import type { Status } from '@tally/contract';
import {
  classifyStoreError,
  createStatusEventStore,
  type DevicePage,
  type MongoConnection,
  type SeriesShape,
  type StatusCounts,
  type StoreErrorKind,
  type TimeRange,
} from '@tally/store';

/** A query's time bound, and whose readings: these devices together, or (absent) the whole fleet. */
export interface QueryOptions {
  timeoutMs: number;
  devices?: readonly string[];
}

/** What the API needs from storage. */
export interface CountsStore {
  countByStatus(range: TimeRange, options: QueryOptions): Promise<StatusCounts>;
  /** Counts of each point of `shape` (a series: see `seriesShape`). */
  series(shape: SeriesShape, options: QueryOptions): Promise<{ start: Date; counts: StatusCounts }[]>;
  /** Devices sorted by id, after `after`, those starting with `prefix` only; `next` when there are more. */
  listDevices(options: { prefix?: string; after?: string; limit: number; timeoutMs: number }): Promise<DevicePage>;
  /** The devices most often in `status` in the range, most first (ties by id); none with zero. */
  topDevices(range: TimeRange, options: { status: Status; limit: number; timeoutMs: number }): Promise<{ device: string; counts: StatusCounts }[]>;
  /** True when the database answers. */
  ping(): Promise<boolean>;
  /** How a failure of a query should be reported. */
  classifyError(error: unknown): StoreErrorKind;
}

/** The API's view of the store over `mongo`: counts from the rollups, health from a ping. */
export function countsStoreOver(mongo: MongoConnection): CountsStore {
  const events = createStatusEventStore({ db: mongo.db });
  return {
    countByStatus: events.countByStatus,
    series: events.series,
    listDevices: events.devices.list,
    topDevices: events.devices.top,
    ping: mongo.ping,
    classifyError: classifyStoreError,
  };
}
