import { testDatabase, waitForDevstack, withDatabase } from '@tally/devstack';
import { describe, expect, it } from 'vitest';
import { createMongoConnection } from './connection';

describe('createMongoConnection', () => {
  it('uses the database named in the URI, and tally when none is', async () => {
    const { mongodbUri } = await waitForDevstack();
    const database = testDatabase(mongodbUri, 'connection_test');
    const named = createMongoConnection({ uri: database.uri });
    const unnamed = createMongoConnection({ uri: withDatabase(mongodbUri, '') });
    try {
      expect(named.db.databaseName).toBe(database.name);
      expect(unnamed.db.databaseName).toBe('tally');
      expect(await named.ping()).toBe(true);
    } finally {
      await named.close();
      await unnamed.close();
    }
  });

  it('reads the database of a connection string with several hosts', async () => {
    const connection = createMongoConnection({ uri: 'mongodb://db1:27017,db2:27017/tally_rs?replicaSet=rs0' });
    try {
      expect(connection.db.databaseName).toBe('tally_rs');
    } finally {
      await connection.close();
    }
  });

  it('reports a server that does not answer as not ready, without throwing', async () => {
    const connection = createMongoConnection({ uri: 'mongodb://127.0.0.1:1/tally', serverSelectionTimeoutMS: 300 });
    try {
      expect(await connection.ping()).toBe(false);
    } finally {
      await connection.close();
    }
  });
});
