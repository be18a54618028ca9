import { testDatabase, waitForDevstack } from '@tally/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMongoConnection, type MongoConnection } from './connection';
import { buildStatusCountPipeline } from './status-counts';
import { createStatusEventStore, type StatusEventStore } from './status-events';

let connection: MongoConnection;
let store: StatusEventStore;
const base = Date.parse('2026-01-01T00:00:00Z');

beforeAll(async () => {
  const { mongodbUri } = await waitForDevstack();
  connection = createMongoConnection({ uri: testDatabase(mongodbUri, 'store_test').uri });
  store = createStatusEventStore({ db: connection.db });
  await store.ensureIndexes();
  await store.collection.insertMany(
    Array.from({ length: 5000 }, (_, i) => ({ _id: `r${i}`, status: i % 7, ts: new Date(base + i * 1000), receivedAt: new Date() })),
  );
});

afterAll(async () => {
  await connection?.db.dropDatabase();
  await connection?.close();
});

describe('the status-count pipeline on the server', () => {
  it('reads the range from the {ts, status} index, not the whole collection', async () => {
    const range = { start: new Date(base + 60_000), end: new Date(base + 120_000) };
    const plan = JSON.stringify(await store.collection.aggregate(buildStatusCountPipeline(range)).explain());
    // MongoDB: an IXSCAN stage with indexName; FerretDB + DocumentDB: PostgreSQL's "Index Name".
    expect(plan).toMatch(/"(indexName|Index Name)":"ts_status"/);
    expect(plan).not.toMatch(/COLLSCAN|"Seq Scan"/);
  });

  it('counts the half-open range exactly', async () => {
    const counts = await store.countByStatus({ start: new Date(base + 7000), end: new Date(base + 21_000) }, { timeoutMs: 5000 });
    expect(counts).toEqual({ 0: 2, 1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 2 });
  });
});

describe('two writers with copies of the same readings', () => {
  it('store every reading once and refuse none, even when their batches hold the ids in opposite orders', async () => {
    const ids = (round: number) => Array.from({ length: 300 }, (_, i) => `w${round}-${i}`);
    const event = (id: string) => ({ _id: id, status: id.length % 7, ts: new Date(base), receivedAt: new Date() });
    const results = [];
    for (let round = 0; round < 8; round++) {
      const forward = ids(round).map(event);
      // A copy of an id in the same batch, as a redelivery can bring it.
      const backward = [...forward].reverse().concat(forward.slice(0, 20));
      const [a, b] = await Promise.all([store.insertReadings(forward), store.insertReadings(backward)]);
      results.push(...a.map((result, i) => ({ id: forward[i]?._id, result })), ...b.map((result, i) => ({ id: backward[i]?._id, result })));
    }
    expect(results.filter(({ result }) => !result.stored)).toEqual([]);
    // One writer stored each id; the other found it stored.
    const firstStores = results.filter(({ result }) => result.stored && !result.duplicate).map(({ id }) => id);
    expect(firstStores.sort()).toEqual(Array.from({ length: 8 }, (_, round) => ids(round)).flat().sort());
    expect(await store.collection.countDocuments({ _id: /^w/ })).toBe(8 * 300);
  }, 120_000);
});
