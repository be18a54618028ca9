export { createMongoConnection } from './connection';
export type { MongoConnection, MongoConnectionOptions } from './connection';
export { createStatusEventStore, STATUS_EVENTS_COLLECTION } from './status-events';
export type { InsertResult, StatusEvent, StatusEventStore, StatusEventStoreOptions } from './status-events';
