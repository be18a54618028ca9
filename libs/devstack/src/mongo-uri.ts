import { randomUUID } from 'node:crypto';
import { ConnectionString } from 'mongodb-connection-string-url';

/**
 * `uri` with its database (the path) set to `database`, or removed when `database` is `''`;
 * hosts, credentials and options stay as they are. Works for every shape of connection string:
 * with or without a path, with options, several hosts, `mongodb+srv`.
 */
export function withDatabase(uri: string, database: string): string {
  const connectionString = new ConnectionString(uri);
  connectionString.pathname = `/${encodeURIComponent(database)}`;
  return connectionString.toString();
}

export interface TestDatabase {
  /** The database's name: `prefix_` and eight random hex digits. */
  name: string;
  /** `uri` with this database in its path. */
  uri: string;
}

/**
 * A fresh, uniquely named database on the server of `uri` (typically the devstack's
 * `mongodbUri`), so that a test never writes to, or drops, anyone else's. The server creates it on
 * the first write; the test drops it when done.
 */
export function testDatabase(uri: string, prefix = 'test'): TestDatabase {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(prefix)) {
    throw new Error(`testDatabase: the prefix must be 1-40 letters, digits, _ or -, got ${JSON.stringify(prefix)}`);
  }
  const name = `${prefix}_${randomUUID().slice(0, 8)}`.replace(/-/g, '_');
  return { name, uri: withDatabase(uri, name) };
}
