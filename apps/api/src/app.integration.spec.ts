import { randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireMongoServer, startLocalMongo, testDatabase, waitForDevstack, type LocalMongo } from '@tally/devstack';
import { STATUSES, type StatusEvent } from '@tally/contract';
import { createMongoConnection, createStatusEventStore, type MongoConnection } from '@tally/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app';
import { countsStoreOver } from './store';

function appOver(mongo: MongoConnection, requestTimeoutMs = 5000) {
  return { events: createStatusEventStore({ db: mongo.db }), app: createApp({ store: countsStoreOver(mongo), requestTimeoutMs }) };
}

const count = async (app: ReturnType<typeof createApp>, start_time: string, end_time: string) => {
  const response = await app.request('/status-counts', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ start_time, end_time }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, number> };
};

describe('counting over the devstack MongoDB-wire server', () => {
  let mongo: MongoConnection;
  let app: ReturnType<typeof createApp>;
  const base = Date.parse('2026-03-01T00:00:00Z');
  const readings: StatusEvent[] = Array.from({ length: 5000 }, () => ({
    _id: randomUUID(),
    status: STATUSES[randomInt(0, STATUSES.length)] as number,
    ts: new Date(base + randomInt(0, 86_400_000)),
    receivedAt: new Date(),
  }));

  beforeAll(async () => {
    const { mongodbUri } = await waitForDevstack();
    mongo = createMongoConnection({ uri: testDatabase(mongodbUri, 'api_test').uri });
    const created = appOver(mongo);
    app = created.app;
    await created.events.ensureIndexes();
    await created.events.insertReadings(readings);
    // Half the rollups refreshed: counts must be exact over clean and dirty buckets alike.
    await created.events.rollups.refresh({ limit: 700 });
  });

  afterAll(async () => {
    await mongo.db.dropDatabase();
    await mongo.close();
  });

  it('counts a reading exactly at start_time, not one exactly at end_time, and reports zeros', async () => {
    const first = readings.reduce((earliest, r) => (r.ts < earliest.ts ? r : earliest));
    const at = first.ts.toISOString();
    const included = await count(app, at, new Date(first.ts.getTime() + 1).toISOString());
    const excluded = await count(app, new Date(first.ts.getTime() - 1000).toISOString(), at);
    const expected = { 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, [first.status]: 1 };
    expect(included).toEqual({ status: 200, body: expected });
    expect(excluded.body).toEqual({ 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 });
  });

  it('reads +05:30 as the same instant as its UTC form', async () => {
    const utc = await count(app, '2026-03-01T06:00:00Z', '2026-03-01T12:00:00Z');
    const offset = await count(app, '2026-03-01T11:30:00+05:30', '2026-03-01T17:30:00+05:30');
    expect(offset).toEqual(utc);
    expect(Object.values(utc.body).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('answers a series whose points each equal a reference count, and add up to the range', async () => {
    const start = new Date(base + 3_600_000 + 12_345);
    const end = new Date(base + 20 * 3_600_000 + 678);
    const response = await app.request(`/status-counts/series?start_time=${start.toISOString()}&end_time=${end.toISOString()}&step=15m`);
    expect(response.status).toBe(200);
    const { points } = (await response.json()) as { points: { start: string; counts: Record<string, number> }[] };
    expect(points).toHaveLength(77);
    const reference = (from: number, to: number) => {
      const counts: Record<string, number> = { 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 };
      for (const { status, ts } of readings) if (ts.getTime() >= from && ts.getTime() < to) counts[status] = (counts[status] ?? 0) + 1;
      return counts;
    };
    for (const [i, point] of points.entries()) {
      const from = Date.parse(point.start);
      const to = i + 1 < points.length ? Date.parse(points[i + 1]?.start ?? '') : end.getTime();
      expect(point.counts, point.start).toEqual(reference(from, to));
    }
    expect(points[0]?.start).toBe(start.toISOString());
  });

  it('matches a reference count for 50 random ranges over 5,000 random readings', async () => {
    for (let i = 0; i < 50; i++) {
      const offsets = [randomInt(-3_600_000, 90_000_000), randomInt(-3_600_000, 90_000_000)];
      const start = new Date(base + Math.min(...offsets));
      const end = new Date(base + Math.max(...offsets) + 1);
      const reference: Record<string, number> = { 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 };
      for (const { status, ts } of readings) if (ts >= start && ts < end) reference[status] = (reference[status] ?? 0) + 1;
      expect(await count(app, start.toISOString(), end.toISOString())).toEqual({ status: 200, body: reference });
    }
  });
});

describe('when the MongoDB-wire server stops', () => {
  const binary = requireMongoServer();
  const dir = mkdtempSync(join(tmpdir(), 'tally-api-outage-'));
  let server: LocalMongo;
  let mongo: MongoConnection;

  beforeAll(async () => {
    server = await startLocalMongo({ binary, dir });
    mongo = createMongoConnection({ uri: server.urls.mongodbUri ?? '', serverSelectionTimeoutMS: 1000 });
  });

  afterAll(async () => {
    await mongo?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 within the bound meanwhile, /readyz too, and recovers when it is back', async () => {
    const { app } = appOver(mongo, 3000);
    expect((await count(app, '2026-01-01', '2026-01-02')).status).toBe(200);

    await server.stop();
    const during = await count(app, '2026-01-01', '2026-01-02');
    // A 503, not the 504 of the 3 s bound: the driver gave up on the stopped server before it.
    expect(during.status).toBe(503);
    expect(during.body).toMatchObject({ error: { code: 'unavailable' } });
    expect((await app.request('/readyz')).status).toBe(503);

    server = await startLocalMongo({ binary, dir, port: server.port });
    await expect.poll(async () => (await app.request('/readyz')).status, { timeout: 15_000 }).toBe(200);
    expect(await count(app, '2026-01-01', '2026-01-02')).toEqual({
      status: 200,
      body: { 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 },
    });
  });
});
