import { MongoClient, type Db } from 'mongodb';
import { ConnectionString } from 'mongodb-connection-string-url';
import { withinTimeout } from './errors';

export interface MongoConnectionOptions {
  /** `mongodb://host:port/database`; the database defaults to `tally`. */
  uri: string;
  /**
   * How long an operation waits for a reachable server before failing.
   * @default 5000
   */
  serverSelectionTimeoutMS?: number;
  /**
   * How long a socket may wait for a reply before the connection is dropped (0: forever).
   * @default 30_000
   */
  socketTimeoutMS?: number;
  /**
   * Longest `ping()` waits for an answer.
   * @default 2000
   */
  pingTimeoutMs?: number;
}

export interface MongoConnection {
  client: MongoClient;
  db: Db;
  /** True when the server answers a ping within `pingTimeoutMs`. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A MongoDB client; it connects lazily, so a server that is down now only fails operations. */
export function createMongoConnection({
  uri,
  serverSelectionTimeoutMS = 5000,
  socketTimeoutMS = 30_000,
  pingTimeoutMs = 2000,
}: MongoConnectionOptions): MongoConnection {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS, socketTimeoutMS, appName: 'tally' });
  const db = client.db(decodeURIComponent(new ConnectionString(uri).pathname.slice(1)) || 'tally');
  return {
    client,
    db,
    ping: () =>
      withinTimeout(db.command({ ping: 1 }, { timeoutMS: pingTimeoutMs }), pingTimeoutMs, 'ping').then(
        () => true,
        () => false,
      ),
    close: () => client.close(),
  };
}
