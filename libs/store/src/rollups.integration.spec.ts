import { MongoClient, type Document } from 'mongodb';
import type { MongoConnection } from './connection';
import { describe, expect, it } from 'vitest';
import { createBucketRepository, dirtyOnDaysOf } from './rollup-buckets';
import { MINUTE, ROLLUP_LEVELS } from './rollup-plan';
import { seriesShape, shapePoints, timeZone } from './series-calendar';
import { addCounts, zeroCounts } from './status-counts';
import type { RollupBucket } from './rollups';
import type { StatusEvent } from '@tally/contract';
import { createStatusEventStore, STATUS_EVENTS_COLLECTION, type StatusEventStore } from './status-events';
import { freshStores, generator, randomSeriesShape, type Random } from './test/fixtures';

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** The readings' "now": readings after it are from the future, refreshes see it as the present. */
const NOW = Date.parse('2026-03-10T12:00:00Z');
const options = { timeoutMs: 10_000 };

const freshStore = freshStores('rollups_test');

/** A reading in the 4 days before NOW, a few hours after it (the future), or days late. */
function randomReading(random: Random, n: number, now = NOW): StatusEvent {
  const kind = random.next();
  const offset = kind < 0.8 ? -random.int(4 * DAY) : kind < 0.9 ? random.int(6 * HOUR) : -(10 * DAY + random.int(DAY));
  return { _id: `r${n}`, status: random.int(7), ts: new Date(now + offset), receivedAt: new Date(now) };
}

function randomRange(random: Random, now = NOW) {
  const start = now - 12 * DAY + random.int(12 * DAY + 8 * HOUR);
  const length = [random.int(90_000), random.int(3 * HOUR), random.int(2 * DAY), random.int(15 * DAY)][random.int(4)] ?? 0;
  return { start: new Date(start), end: new Date(start + length + 1) };
}

async function expectExact(store: StatusEventStore, random: Random, seed: number, checks = 25, now = NOW) {
  for (let i = 0; i < checks; i++) {
    const range = randomRange(random, now);
    const what = `seed ${seed}, ${range.start.toISOString()}..${range.end.toISOString()}`;
    expect(await store.countByStatus(range, options), what).toEqual(await store.countRawByStatus(range, options));
  }
  const range = randomRange(random, now);
  const { shape, what: series } = randomSeriesShape(random, range, 400);
  const points = await store.rollups.series(shape, options);
  const total = points.reduce((sum, point) => addCounts(sum, { ...point.counts }), zeroCounts());
  expect(total, `seed ${seed}, ${series}, the points' sum`).toEqual(await store.countRawByStatus(range, options));
  const ranges = shapePoints(shape);
  const sampled = [...ranges.keys()].filter((i) => i < 10 || i === ranges.length - 1 || random.next() < 10 / ranges.length);
  for (const i of sampled) {
    const raw = await store.countRawByStatus(ranges[i] as (typeof ranges)[number], options);
    expect(points[i]?.counts, `seed ${seed}, ${series}, point ${ranges[i]?.start.toISOString()}`).toEqual(raw);
  }
}

describe('rollups', () => {
  it('equal the raw count for random ranges and steps through duplicates, late and future readings, crashes and refreshes', async () => {
    for (const seed of [1, 2, 3]) {
      const random = generator(seed);
      const { store, crashAfterRawInsert } = freshStore();
      await store.ensureIndexes();
      let n = 0;
      const written: StatusEvent[] = [];
      const batch = () =>
        Array.from({ length: 1 + random.int(300) }, () =>
          written.length > 0 && random.next() < 0.1 ? (written[random.int(written.length)] as StatusEvent) : randomReading(random, n++),
        );
      for (let round = 0; round < 12; round++) {
        const action = random.int(4);
        if (action === 0) {
          // A processor crashes after the raw insert; the broker delivers the batch again.
          const events = batch();
          crashAfterRawInsert();
          await expect(store.insertReadings(events)).rejects.toThrow(/crashed/);
          await store.insertReadings(events);
          written.push(...events);
        } else if (action === 1) {
          // Two processors write while a refresher runs.
          const [a, b] = [batch(), batch()];
          await Promise.all([store.insertReadings(a), store.insertReadings(b), store.rollups.refresh({ now: new Date(NOW), limit: 50 })]);
          written.push(...a, ...b);
        } else if (action === 2) {
          await store.rollups.refresh({ now: new Date(NOW), limit: 1 + random.int(400) });
        } else {
          const events = batch();
          await store.insertReadings(events);
          written.push(...events);
        }
        await expectExact(store, random, seed, 8);
      }
      const refreshed = await store.rollups.refresh({ now: new Date(NOW), limit: 100_000 });
      expect(refreshed.pending).toBe(0);
      await expectExact(store, random, seed);
    }
  }, 240_000);

  it('leave buckets of the future and those written since their refresh dirty, and count them raw', async () => {
    const { store } = freshStore();
    await store.ensureIndexes();
    const past = new Date(NOW - 2 * HOUR);
    const future = new Date(NOW + 2 * HOUR);
    await store.insertReadings([{ _id: 'a', status: 1, ts: past, receivedAt: past }, { _id: 'b', status: 2, ts: future, receivedAt: past }]);
    await store.rollups.refresh({ now: new Date(NOW) });
    const minutes = store.collection.db.collection(ROLLUP_LEVELS[0]?.collection ?? '');
    expect(await minutes.find({}, { projection: { _id: 1, dirty: 1 } }).sort({ _id: 1 }).toArray()).toEqual([
      { _id: new Date(past.getTime() - (past.getTime() % 60_000)), dirty: false },
      { _id: new Date(future.getTime() - (future.getTime() % 60_000)), dirty: true },
    ]);
    // A late reading in a refreshed bucket dirties it again.
    await store.insertReadings([{ _id: 'c', status: 3, ts: new Date(past.getTime() + 1), receivedAt: past }]);
    expect(await minutes.countDocuments({ dirty: true })).toBe(2);
    const all = { start: new Date(NOW - DAY), end: new Date(NOW + DAY) };
    expect(await store.countByStatus(all, options)).toEqual({ 0: 0, 1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0 });
  });

  it('count readings written before rollups existed from the raw readings, until a rebuild covers them', async () => {
    const { store } = freshStore();
    const random = generator(42);
    const now = Date.now();
    const nextMidnight = Math.ceil(now / DAY) * DAY;
    // One just past the next midnight, as a reading up to 6 h ahead is when stored after 18:00 UTC.
    const ahead: StatusEvent = { _id: 'ahead', status: 3, ts: new Date(nextMidnight + HOUR), receivedAt: new Date(now) };
    const old = [...Array.from({ length: 2000 }, (_, i) => randomReading(random, i, now)), ahead];
    await store.collection.insertMany(old); // as an earlier version of Tally stored them: no rollups
    await expectExact(store, random, 42, 5, now); // an API started before any processor of this version
    await store.ensureIndexes();
    const coverage = await store.rollups.coverage();
    // Rollups hold everything from the first midnight after now and after every reading without them.
    expect(coverage.getTime()).toBe(nextMidnight + DAY);
    const aheadDay = { start: new Date(nextMidnight), end: new Date(nextMidnight + DAY) };
    expect(await createStatusEventStore({ db: store.collection.db }).countByStatus(aheadDay, options)).toEqual(await store.countRawByStatus(aheadDay, options));
    await expectExact(store, random, 42, 10, now);

    const days: Date[] = [];
    const earliest = Math.min(...old.map((event) => event.ts.getTime()));
    await store.rollups.rebuild({ start: new Date(earliest), end: coverage }, { onProgress: ({ day }) => days.push(day) });
    // Every day with readings: coverage starts after the last of them.
    const daysWithReadings = new Set(old.map((event) => Math.floor(event.ts.getTime() / DAY) * DAY));
    expect(days.map((d) => d.getTime())).toEqual([...daysWithReadings].sort((x, y) => y - x));
    expect((await store.rollups.coverage()).getTime()).toBe(Math.floor(earliest / DAY) * DAY);
    const minutes = store.collection.db.collection<RollupBucket>(ROLLUP_LEVELS[0]?.collection ?? '');
    expect(await minutes.countDocuments({ dirty: true, _id: { $lt: new Date(now - 60_000) } })).toBe(0);
    await expectExact(store, random, 42, 10, now);
  }, 120_000);
});

describe('refreshes of one store', () => {
  it('run one at a time: a call while one runs waits for it, then the next one starts afresh', async () => {
    const { store } = freshStore();
    await store.ensureIndexes();
    await store.insertReadings([{ _id: 'a', status: 1, ts: new Date(NOW - HOUR), receivedAt: new Date(NOW) }]);
    const [first, joined] = await Promise.all([store.rollups.refresh({ now: new Date(NOW) }), store.rollups.refresh({ now: new Date(NOW) })]);
    expect(joined).toBe(first);
    expect(first.refreshed).toBeGreaterThan(0);
    expect(await store.rollups.refresh({ now: new Date(NOW) })).toEqual({ refreshed: 0, pending: 0 });
  });
});

describe('a series of steps of several buckets', () => {
  it('sums them per step, counting the dirty ones and those over dirty minutes raw, every point exact', async () => {
    const { store } = freshStore();
    await store.ensureIndexes();
    const random = generator(11);
    await store.insertReadings(Array.from({ length: 2000 }, (_, i) => randomReading(random, i)));
    await store.rollups.refresh({ now: new Date(NOW), limit: 100_000 });
    // Dirty minutes under clean hours, and minutes never refreshed.
    await store.insertReadings(Array.from({ length: 30 }, (_, i) => randomReading(random, 2000 + i)));
    const range = { start: new Date(NOW - 3 * DAY - 7 * 60_000 - 1234), end: new Date(NOW + 2 * HOUR + 55_555) };
    const steps = [
      ['5m', 'UTC'],
      ['15m', 'UTC'],
      ['6h', 'UTC'],
      ['1h', 'Asia/Kolkata'],
      ['1d', 'Asia/Kathmandu'],
      ['1d', 'America/New_York'],
      ['1w', 'America/New_York'],
    ] as const;
    for (const [step, zone] of steps) {
      const shape = seriesShape(range, step, timeZone(zone)) as NonNullable<ReturnType<typeof seriesShape>>;
      const series = await store.rollups.series(shape, options);
      const raw = await Promise.all(shapePoints(shape).map((point) => store.countRawByStatus(point, options)));
      expect(series.map((point) => point.counts), `step ${step} in ${zone}`).toEqual(raw);
    }
  }, 60_000);
});

describe('the index of dirty buckets', () => {
  it('replaces the indexes of earlier versions, and serves the looks for dirty buckets alone', async () => {
    const { store } = freshStore();
    const minutes = store.collection.db.collection<RollupBucket>(ROLLUP_LEVELS[0]?.collection ?? '');
    await minutes.createIndex({ dirty: 1, _id: 1 }, { name: 'dirty' }); // as versions before 2026-11-29 made it
    await minutes.createIndex({ _id: 1, dirty: 1 }, { name: 'dirty_buckets', partialFilterExpression: { dirty: true } }); // before 2026-12-03
    await store.ensureIndexes();
    expect((await minutes.indexes()).map((index) => index.name).sort()).toEqual(['_id_', 'dirty_by_day']);
    const at = (i: number) => new Date(NOW - i * 60_000);
    await minutes.insertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: at(i), version: 1, dirty: false })));
    const buckets = createBucketRepository(store.collection.db);
    await buckets.markChanged([at(0), at(1000), at(2000)], [MINUTE]);
    const month = { start: NOW - 30 * DAY, end: NOW }; // NOW (`at(0)`) itself is outside
    expect((await buckets.dirtyIn(MINUTE, [month], 5000)).sort()).toEqual([at(2000).getTime(), at(1000).getTime()]);
    expect((await buckets.endedDirty(MINUTE, NOW, 10)).map((bucket) => bucket._id)).toEqual([at(2000), at(1000)]);
    // By day, and by nothing else: MongoDB an IXSCAN stage with indexName; FerretDB + DocumentDB PostgreSQL's "Index Name".
    const indexesUsed = async (filter: Document) => JSON.stringify(await minutes.find(filter).explain()).match(/"(indexName|Index Name)":"[^"]+"/g);
    expect(await indexesUsed(dirtyOnDaysOf([month]))).toEqual([expect.stringMatching(/dirty_by_day/)]);
  });

  it('finds buckets marked by a version before it within a refresh, and counts stay exact', async () => {
    const { store } = freshStore();
    await store.ensureIndexes();
    const random = generator(5);
    await store.insertReadings(Array.from({ length: 300 }, (_, i) => randomReading(random, i)));
    for (const level of ROLLUP_LEVELS) await store.collection.db.collection(level.collection).updateMany({}, { $unset: { day: '' } });
    const { pending } = await store.rollups.refresh({ now: new Date(NOW), limit: 100_000 });
    expect(pending).toBe(0);
    const ended = (level: (typeof ROLLUP_LEVELS)[number]) => ({ dirty: true, _id: { $lte: new Date(NOW - level.ms) } });
    for (const level of ROLLUP_LEVELS) expect(await store.collection.db.collection<RollupBucket>(level.collection).countDocuments(ended(level)), level.name).toBe(0);
    const range = { start: new Date(NOW - 5 * DAY), end: new Date(NOW) };
    expect(await store.countByStatus(range, options)).toEqual(await store.countRawByStatus(range, options));
  });
});

describe('a count over centuries', () => {
  it('sums the days in the rollups rather than reading every reading, and stays exact', async () => {
    const client = new MongoClient(freshStore.databaseUri(), { monitorCommands: true });
    freshStore.track({ db: client.db(), close: () => client.close() } as MongoConnection);
    const store = createStatusEventStore({ db: client.db() });
    await store.ensureIndexes();
    const random = generator(7);
    await store.insertReadings(Array.from({ length: 500 }, (_, i) => randomReading(random, i)));
    await store.rollups.refresh({ now: new Date(NOW), limit: 100_000 });
    // Late readings dirty minutes under clean hours and days again; future ones stay dirty.
    await store.insertReadings(Array.from({ length: 20 }, (_, i) => randomReading(random, 500 + i)));
    /** The stretches of time the raw aggregates read, in ms. */
    const rawSpans: number[] = [];
    client.on('commandStarted', ({ command }) => {
      if (command['aggregate'] !== STATUS_EVENTS_COLLECTION) return;
      const match = (command['pipeline'] as { $match: { ts?: { $gte: Date; $lt: Date }; $or?: { ts: { $gte: Date; $lt: Date } }[] } }[])[0]?.$match;
      for (const { ts } of match?.$or ?? [match as { ts: { $gte: Date; $lt: Date } }]) rawSpans.push(ts.$lt.getTime() - ts.$gte.getTime());
    });
    const ranges = [
      { start: new Date('-270984-02-26T16:40:00Z'), end: new Date('+275000-01-01T00:00:00Z') },
      { start: new Date(NOW - 60 * 365 * DAY + 12_345), end: new Date(NOW + 3 * DAY - 6789) },
    ];
    for (const range of ranges) {
      rawSpans.length = 0;
      const counted = await store.countByStatus(range, options);
      // Raw: the ends (under a day each) and the days with dirty minutes, all within the readings' 12 days.
      const rawDays = rawSpans.reduce((sum, span) => sum + span, 0) / DAY;
      expect(rawDays, `${range.start.toISOString()}..${range.end.toISOString()}`).toBeLessThan(14);
      expect(counted).toEqual(await store.countRawByStatus(range, options));
      expect(Object.values(counted).reduce((a, b) => a + b, 0)).toBe(520);
    }
  });
});

describe('a targeted rebuild on a database that held readings before rollups existed', () => {
  it('moves coverage back only over what it rebuilt without a gap, and counts stay exact', async () => {
    const { store } = freshStore();
    const db = store.collection.db;
    const random = generator(99);
    const now = Date.now();
    const today = Math.floor(now / DAY) * DAY;
    // Readings of the last 60 days, as an earlier version of Tally stored them: no rollups.
    await store.collection.insertMany(
      Array.from({ length: 3000 }, (_, i) => ({ _id: `o${i}`, status: random.int(7), ts: new Date(now - random.int(60 * DAY)), receivedAt: new Date(now) })),
    );
    await store.ensureIndexes();
    const coverage = (await store.rollups.coverage()).getTime();
    expect(coverage).toBe(today + DAY);

    /** Counts of a store that reads coverage afresh, against the raw aggregate, over ranges of the last 65 days. */
    const expectExactNow = async (what: string) => {
      const reader = createStatusEventStore({ db });
      for (let i = 0; i < 12; i++) {
        const start = now - 65 * DAY + random.int(66 * DAY);
        const range = { start: new Date(start), end: new Date(start + 1 + random.int(30 * DAY)) };
        const label = `${what}: ${range.start.toISOString()}..${range.end.toISOString()}`;
        expect(await reader.countByStatus(range, options), label).toEqual(await reader.countRawByStatus(range, options));
      }
      const all = { start: new Date(now - 61 * DAY), end: new Date(now + DAY) };
      expect(await reader.countByStatus(all, options), `${what}: all`).toEqual(await reader.countRawByStatus(all, options));
    };

    // A month that does not reach the coverage's start: rebuilt, but coverage stays.
    await store.rollups.rebuild({ start: new Date(today - 50 * DAY), end: new Date(today - 20 * DAY) });
    expect((await store.rollups.coverage()).getTime()).toBe(coverage);
    await expectExactNow('after [-50 d, -20 d)');

    // A range without readings.
    await store.rollups.rebuild({ start: new Date('2020-01-01T00:00:00Z'), end: new Date('2020-01-02T00:00:00Z') });
    expect((await store.rollups.coverage()).getTime()).toBe(coverage);
    await expectExactNow('after 2020-01-01');

    // Up to the coverage's start: coverage moves back to its start.
    await store.rollups.rebuild({ start: new Date(today - 10 * DAY + HOUR), end: new Date(coverage) });
    expect((await store.rollups.coverage()).getTime()).toBe(today - 10 * DAY);
    await expectExactNow('after [-10 d, coverage)');

    // Reaching past the coverage's start, back to before the first reading.
    await store.rollups.rebuild({ start: new Date(today - 70 * DAY), end: new Date(today - 5 * DAY) });
    expect((await store.rollups.coverage()).getTime()).toBe(today - 70 * DAY);
    await expectExactNow('after [-70 d, -5 d)');
  }, 180_000);
});
