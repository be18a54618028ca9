export { createMongoConnection } from './connection';
export type { MongoConnection, MongoConnectionOptions } from './connection';
