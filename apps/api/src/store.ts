import { classifyStoreError, createStatusEventStore, type MongoConnection } from '@tally/store';
import type { CountsStore } from './app';

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
