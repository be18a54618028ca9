import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findMongoServer, pollUntil, startLocalMongo, type LocalMongo, type LocalPostgres } from '@tally/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMongoConnection, type MongoConnection } from './connection';
import { classifyStoreError, type StoreErrorKind } from './errors';
import { createStatusEventStore, type StatusEventStore } from './status-events';

const server = findMongoServer();
const base = Date.parse('2026-01-01T00:00:00Z');
const CLIENT_BACKENDS = "FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";

/** Counts with four callers at once until `stop` resolves; every failure, classified. */
async function countMeanwhile(store: StatusEventStore, stop: Promise<unknown>) {
  const failures: { kind: StoreErrorKind; message: string }[] = [];
  let done = false;
  void stop.then(() => (done = true));
  const caller = async (offset: number) => {
    for (let i = offset; !done; i += 4) {
      const start = new Date(base + (i % 600) * 7000);
      try {
        await store.countByStatus({ start, end: new Date(start.getTime() + 3_600_000) }, { timeoutMs: 10_000 });
      } catch (error) {
        failures.push({ kind: classifyStoreError(error), message: (error as Error).message });
        await sleep(20);
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(caller));
  return failures;
}

/** True once a count succeeds again. */
const countsAgain = (store: StatusEventStore) =>
  pollUntil(
    () => store.countByStatus({ start: new Date(base), end: new Date(base + 60_000) }, { timeoutMs: 5000 }).then(() => true, () => false),
    { timeoutMs: 60_000, intervalMs: 200 },
  );

describe.runIf(server?.kind === 'ferretdb')('the store while FerretDB or its PostgreSQL fails', () => {
  let dir: string;
  let mongo: LocalMongo;
  let connection: MongoConnection;
  let store: StatusEventStore;
  let postgres: LocalPostgres;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-store-unavailable-'));
    mongo = await startLocalMongo({ binary: server as NonNullable<typeof server>, dir });
    postgres = mongo.postgres as LocalPostgres;
    connection = createMongoConnection({ uri: mongo.urls.mongodbUri ?? '' });
    store = createStatusEventStore({ db: connection.db });
    await store.ensureIndexes();
    await store.insertReadings(
      Array.from({ length: 5000 }, (_, i) => ({ _id: `r${i}`, status: i % 7, ts: new Date(base + i * 1000), receivedAt: new Date() })),
    );
  }, 120_000);

  afterAll(async () => {
    await connection?.close();
    await mongo?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a rollup refresh against a frozen server fails within its bound, as a timeout', async () => {
    await store.rollups.refresh();
    await store.insertReadings([{ _id: 'late', status: 3, ts: new Date(base), receivedAt: new Date() }]);
    mongo.pause();
    try {
      const error = await store.rollups.refresh({ timeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'StoreError', code: 'timeout' });
      expect(classifyStoreError(error)).toBe('timeout');
    } finally {
      mongo.resume();
    }
  }, 20_000);

  it('counts fail as unavailable (never other) while backends are terminated and PostgreSQL recovers from a crash', async () => {
    const failures = await countMeanwhile(
      store,
      (async () => {
        await sleep(500);
        for (let i = 0; i < 3; i++) {
          await postgres.query(`SELECT count(pg_terminate_backend(pid)) ${CLIENT_BACKENDS}`);
          await sleep(300);
        }
        // A backend that dies makes PostgreSQL end every session and recover before it takes new ones.
        const [backend] = (await postgres.query(`SELECT pid ${CLIENT_BACKENDS} LIMIT 1`)).split('\n').filter(Boolean);
        process.kill(Number(backend), 'SIGKILL');
        await sleep(500);
        expect(await countsAgain(store), 'counts succeed after the recovery').toBe(true);
      })(),
    );
    const messages = new Set(failures.map(({ kind, message }) => `${kind}: ${message}`));
    expect(failures.length, 'counts failed meanwhile').toBeGreaterThan(0);
    expect(failures.filter(({ kind }) => kind === 'other'), [...messages].join('\n')).toEqual([]);
  }, 120_000);

  it('counts fail as unavailable while PostgreSQL is down', async () => {
    process.kill(postgres.pid, 'SIGINT');
    expect(await pollUntil(async () => !isAlive(postgres.pid), { timeoutMs: 30_000 }), 'PostgreSQL stopped').toBe(true);
    // The first calls may still meet the sessions that the shutdown ended; then nothing listens.
    for (let i = 0; i < 5; i++) {
      await sleep(300);
      const error = await store.countByStatus({ start: new Date(base), end: new Date(base + 60_000) }, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(classifyStoreError(error), String(error)).toBe('unavailable');
    }
  }, 60_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
