export { createMongoConnection } from './connection';
export type { MongoConnection, MongoConnectionOptions } from './connection';
export { createStatusEventStore, STATUS_EVENTS_COLLECTION } from './status-events';
export type { InsertResult, StatusEvent, StatusEventStore, StatusEventStoreOptions } from './status-events';
export { buildStatusCountPipeline, countByStatus, STATUS_KEYS, toStatusCounts, zeroCounts } from './status-counts';
export type { CountOptions, StatusCounts, StatusKey, TimeRange } from './status-counts';
export { classifyStoreError } from './errors';
export type { StoreErrorKind } from './errors';
