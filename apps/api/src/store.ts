import { classifyStoreError, createStatusEventStore, type MongoConnection, type StatusCounts, type TimeRange } from '@tally/store';

/** What the API needs from storage. */
export interface CountsStore {
  countByStatus(range: TimeRange, options: { timeoutMs: number }): Promise<StatusCounts>;
  /** Counts of each UTC-aligned `stepMs` of the range, each clipped to it. */
  series(range: TimeRange, stepMs: number, options: { timeoutMs: number }): Promise<{ start: Date; counts: StatusCounts }[]>;
  /** True when the database answers. */
  ping(): Promise<boolean>;
  /** How a failure of `countByStatus` should be reported. */
  classifyError(error: unknown): 'unavailable' | 'timeout' | 'other';
}


/** The API's view of the store over `mongo`: counts from the rollups, health from a ping. */
export function countsStoreOver(mongo: MongoConnection): CountsStore {
  const events = createStatusEventStore({ db: mongo.db });
  return {
    countByStatus: events.countByStatus,
    series: events.rollups.series,
    ping: mongo.ping,
    classifyError: classifyStoreError,
  };
}
