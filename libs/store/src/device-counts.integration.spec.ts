import type { StatusEvent } from '@tally/contract';
import type { Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { createDeviceRollups, DEVICE_DAYS_COLLECTION, DEVICE_TOTALS_COLLECTION } from './device-rollups';
import { ROLLUP_META_COLLECTION } from './rollup-coverage';
import { seriesShape, shapePoints, timeZone, type SeriesShape } from './series-calendar';
import { addCounts, zeroCounts, type StatusCounts } from './status-counts';
import { createStatusEventStore, type StatusEventStore } from './status-events';
import { freshStores, generator, randomSeriesShape, type Random } from './test/fixtures';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const NOW = Date.parse('2026-03-10T12:00:00Z');
const options = { timeoutMs: 10_000 };
/** Ids with the characters a device id may hold, and one that is a prefix of another. */
const DEVICES = ['pump-1', 'pump-10', 'pump.17', 'line:4', 'A_b', 'x', 'sensor-07', 'sensor-08'];

const freshStore = freshStores('devices_test');

/** A reading of a random device (one in eight without any) in the 3 days before NOW, the future, or days late. */
function randomReading(random: Random, n: number, now = NOW): StatusEvent {
  const kind = random.next();
  const offset = kind < 0.8 ? -random.int(3 * DAY) : kind < 0.9 ? random.int(4 * HOUR) : -(8 * DAY + random.int(DAY));
  const device = random.int(8) === 0 ? {} : { device: DEVICES[random.int(DEVICES.length)] as string };
  return { _id: `r${n}`, status: random.int(7), ts: new Date(now + offset), receivedAt: new Date(now), ...device };
}

function randomRange(random: Random, now = NOW) {
  const start = now - 10 * DAY + random.int(10 * DAY + 5 * HOUR);
  const length = [random.int(90_000), random.int(3 * HOUR), random.int(2 * DAY), random.int(12 * DAY)][random.int(4)] ?? 0;
  return { start: new Date(start), end: new Date(start + length + 1) };
}

function someDevices(random: Random): string[] {
  return [...new Set(Array.from({ length: 1 + random.int(3) }, () => DEVICES[random.int(DEVICES.length)] as string))];
}

async function expectExact(store: StatusEventStore, random: Random, seed: number, checks = 10, now = NOW) {
  for (let i = 0; i < checks; i++) {
    const range = randomRange(random, now);
    const devices = someDevices(random);
    const what = `seed ${seed}, ${devices.join(',')} ${range.start.toISOString()}..${range.end.toISOString()}`;
    expect(await store.countByStatus(range, { ...options, devices }), what).toEqual(await store.countRawByStatus(range, { ...options, devices }));
  }
  const range = randomRange(random, now);
  const perDevice = await store.devices.perDevice(range, options);
  for (const device of DEVICES) {
    const raw = await store.countRawByStatus(range, { ...options, devices: [device] });
    const expected = Object.values(raw).some((n) => n > 0) ? raw : undefined;
    expect(perDevice.get(device), `seed ${seed}, every device, ${device} ${range.start.toISOString()}..${range.end.toISOString()}`).toEqual(expected);
  }
  const devices = someDevices(random);
  const { shape, what: series } = randomSeriesShape(random, range, 300);
  const points = await store.series(shape, { ...options, devices });
  const total = points.reduce((sum, point) => addCounts(sum, { ...point.counts }), zeroCounts());
  expect(total, `seed ${seed}, ${series}, the points' sum`).toEqual(await store.countRawByStatus(range, { ...options, devices }));
  const ranges = shapePoints(shape);
  for (const i of new Set([0, random.int(ranges.length), ranges.length - 1])) {
    const raw = await store.countRawByStatus(ranges[i] as (typeof ranges)[number], { ...options, devices });
    expect(points[i]?.counts, `seed ${seed}, ${series}, point ${ranges[i]?.start.toISOString()}`).toEqual(raw);
  }
}

describe('counts per device', () => {
  it('equal the raw count for random devices, ranges and steps through duplicates, late readings, crashes and refreshes', async () => {
    for (const seed of [5, 6]) {
      const random = generator(seed);
      const { store, db, crashAfterRawInsert } = freshStore();
      const other = createStatusEventStore({ db });
      await store.ensureIndexes();
      let n = 0;
      const written: StatusEvent[] = [];
      const batch = () =>
        Array.from({ length: 1 + random.int(250) }, () =>
          written.length > 0 && random.next() < 0.1 ? (written[random.int(written.length)] as StatusEvent) : randomReading(random, n++),
        );
      for (let round = 0; round < 10; round++) {
        const action = random.int(4);
        if (action === 0) {
          const events = batch();
          crashAfterRawInsert();
          await expect(store.insertReadings(events)).rejects.toThrow(/crashed/);
          await store.insertReadings(events);
          written.push(...events);
        } else if (action === 1) {
          // Two processors write while two refreshers run (one per store: a store runs one refresh at a time).
          const [a, b] = [batch(), batch()];
          await Promise.all([
            store.insertReadings(a),
            other.insertReadings(b),
            store.rollups.refresh({ now: new Date(NOW), limit: 40 }),
            other.rollups.refresh({ now: new Date(NOW), limit: 300 }),
          ]);
          written.push(...a, ...b);
        } else if (action === 2) {
          await store.rollups.refresh({ now: new Date(NOW), limit: 1 + random.int(400) });
        } else {
          const events = batch();
          await store.insertReadings(events);
          written.push(...events);
        }
        await expectExact(store, random, seed, 6);
      }
      expect((await store.rollups.refresh({ now: new Date(NOW), limit: 100_000 })).pending).toBe(0);
      await expectExact(store, random, seed);
    }
  }, 240_000);

  it('use the hour slots once their hours are refreshed (a count that ignored them would be short)', async () => {
    const { store, db } = freshStore();
    await store.ensureIndexes();
    const random = generator(9);
    await store.insertReadings(Array.from({ length: 1500 }, (_, i) => randomReading(random, i)));
    await store.rollups.refresh({ now: new Date(NOW), limit: 100_000 });
    const days = db.collection(DEVICE_DAYS_COLLECTION);
    expect(await days.countDocuments({})).toBeGreaterThan(DEVICES.length);
    const range = { start: new Date(NOW - 3 * DAY - 1234), end: new Date(NOW - 5678) };
    const before = await store.countByStatus(range, { ...options, devices: DEVICES });
    expect(before).toEqual(await store.countRawByStatus(range, { ...options, devices: DEVICES }));
    // Local days and hours that do not start on a UTC hour, and a DST change (New York, 2026-03-08).
    const steps = [['1d', 'Asia/Kathmandu'], ['1h', 'Asia/Kolkata'], ['1d', 'America/New_York'], ['1mo', 'America/New_York']] as const;
    for (const [step, zone] of steps) {
      const shape = seriesShape(range, step, timeZone(zone)) as SeriesShape;
      const series = await store.series(shape, { ...options, devices: DEVICES.slice(0, 3) });
      const raw = await Promise.all(shapePoints(shape).map((point) => store.countRawByStatus(point, { ...options, devices: DEVICES.slice(0, 3) })));
      expect(series.map((point) => point.counts), `${step} in ${zone}`).toEqual(raw);
    }
    // Without its slots, a device counts only its raw ends: the slots were what counted the rest.
    await days.deleteMany({});
    const without = await store.countByStatus(range, { ...options, devices: DEVICES });
    expect(Object.values(without).reduce((a, b) => a + b)).toBeLessThan(Object.values(before).reduce((a, b) => a + b) / 10);
  }, 60_000);
});

describe('the device slots', () => {
  it('are replaced only by a later version (a refresh that read an older one may write last)', async () => {
    const { db } = freshStore();
    const rollups = createDeviceRollups(db);
    const hour = Date.parse('2026-03-01T13:00:00Z');
    const counts = (n: number): StatusCounts => ({ ...zeroCounts(), 2: n });
    const write = (version: number, n: number) => rollups.writeHours([{ start: hour, version, devices: new Map([['pump-1', counts(n)]]) }]);
    const slot = async () => (await rollups.days.findOne({ _id: 'pump-1 2026-03-01' }))?.h['13'];
    await write(5, 10);
    await Promise.all([write(4, 9), write(4, 9)]);
    expect(await slot()).toEqual({ v: 5, c: { 2: 10 } });
    await Promise.all([write(6, 12), write(7, 13)]);
    expect(await slot()).toEqual({ v: 7, c: { 2: 13 } });
    // Slots of other hours of the same day live beside it.
    await rollups.writeHours([{ start: hour + HOUR, version: 1, devices: new Map([['pump-1', counts(1)]]) }]);
    expect(Object.keys((await rollups.days.findOne({ _id: 'pump-1 2026-03-01' }))?.h ?? {}).sort()).toEqual(['13', '14']);
  });
});

describe('the device directory', () => {
  it('lists devices by id a page at a time, by prefix, with first and latest reading and an exact reading count', async () => {
    const { store } = freshStore();
    await store.ensureIndexes();
    const random = generator(21);
    const readings = Array.from({ length: 800 }, (_, i) => randomReading(random, i));
    await store.insertReadings(readings);
    await store.rollups.refresh({ now: new Date(NOW), limit: 100_000 });
    // Written after the refresh: counted (raw), not yet seen by the directory.
    await store.insertReadings([{ _id: 'late', status: 6, ts: new Date(NOW - 90_000), receivedAt: new Date(NOW), device: 'x' }]);
    const refreshedBefore = readings.filter((r) => r.ts.getTime() <= NOW - 60_000);
    const seen = [...new Set(refreshedBefore.flatMap((r) => r.device ?? []))].sort();

    const pages: string[][] = [];
    let after: string | undefined;
    do {
      const page = await store.devices.list({ ...options, limit: 3, after });
      pages.push(page.devices.map((d) => d.device));
      for (const summary of page.devices) {
        const own = refreshedBefore.filter((r) => r.device === summary.device);
        const latest = own.reduce((a, b) => (b.ts > a.ts || (+b.ts === +a.ts && b.status > a.status) ? b : a));
        expect(summary).toEqual({
          device: summary.device,
          firstSeen: new Date(Math.min(...own.map((r) => r.ts.getTime()))),
          lastSeen: latest.ts,
          lastStatus: latest.status,
          readings: readings.filter((r) => r.device === summary.device).length + (summary.device === 'x' ? 1 : 0),
        });
      }
      after = page.next;
    } while (after !== undefined);
    expect(pages.flat()).toEqual(seen);
    expect(pages.every((page) => page.length <= 3)).toBe(true);
    expect((await store.devices.list({ ...options, limit: 10, prefix: 'pump-1' })).devices.map((d) => d.device)).toEqual(['pump-1', 'pump-10']);
    expect(await store.devices.list({ ...options, limit: 10, prefix: 'nobody' })).toEqual({ devices: [] });
  }, 60_000);

  it('ranks the devices most often in a status, exactly, ties by id', async () => {
    const { store } = freshStore();
    await store.ensureIndexes();
    const random = generator(33);
    const readings = Array.from({ length: 1200 }, (_, i) => randomReading(random, i));
    await store.insertReadings(readings);
    await store.rollups.refresh({ now: new Date(NOW), limit: 100_000 });
    const range = { start: new Date(NOW - 2 * DAY - 4321), end: new Date(NOW + HOUR) };
    const inStatus = (device: string) =>
      readings.filter((r) => r.device === device && r.status === 4 && r.ts >= range.start && r.ts < range.end).length;
    const expected = DEVICES.filter((d) => inStatus(d) > 0)
      .sort((a, b) => inStatus(b) - inStatus(a) || (a < b ? -1 : 1))
      .slice(0, 5);
    const top = await store.devices.top(range, { ...options, status: 4, limit: 5 });
    expect(top.map((entry) => [entry.device, entry.counts[4]])).toEqual(expected.map((d) => [d, inStatus(d)]));
  }, 60_000);
});

/**
 * A store holding `count` random readings around now, refreshed, then left as an earlier version
 * would have left it by `forget`, and opened again.
 */
async function keptByEarlierVersion(seed: number, count: number, forget: (db: Db) => Promise<unknown>) {
  const { store, db } = freshStore();
  const now = Date.now();
  const random = generator(seed);
  await store.ensureIndexes();
  const readings = Array.from({ length: count }, (_, i) => randomReading(random, i, now));
  await store.insertReadings(readings);
  await store.rollups.refresh({ limit: 100_000 });
  await forget(db);
  await store.ensureIndexes();
  const coverageOf = async (kind: string) => (await db.collection<{ _id: string; from: Date }>(ROLLUP_META_COLLECTION).findOne({ _id: kind }))?.from.getTime();
  const rebuild = () => store.rollups.rebuild({ start: new Date(now - 10 * DAY), end: new Date(now + 2 * DAY) });
  // Where a coverage that ensureIndexes records starts: the first midnight after now and after the
  // latest reading with a device (up to 4 h ahead: past midnight when the test runs after 20:00 UTC).
  const latestWithDevice = Math.max(...readings.filter((r) => r.device !== undefined).map((r) => r.ts.getTime()));
  const recordedFrom = Math.ceil(Math.max(now, latestWithDevice + 1) / DAY) * DAY;
  return { store, db, now, random, readings, coverageOf, rebuild, recordedFrom };
}

describe('readings with devices stored before device rollups existed', () => {
  it('are counted raw until a rebuild covers them, then from the slots', async () => {
    // As the version before device rollups left the database: fleet rollups, no slots, no device coverage.
    const { db, store, now, random, coverageOf, rebuild, recordedFrom } = await keptByEarlierVersion(77, 1500, async (db) => {
      await db.collection(DEVICE_DAYS_COLLECTION).deleteMany({});
      await db.collection<{ _id: string }>(ROLLUP_META_COLLECTION).deleteOne({ _id: 'device-coverage' });
    });
    expect(await coverageOf('device-coverage')).toBe(recordedFrom);
    await expectExact(store, random, 77, 8, now);

    await rebuild();
    expect(await coverageOf('device-coverage')).toBeLessThanOrEqual(now - 9 * DAY);
    expect(await db.collection(DEVICE_DAYS_COLLECTION).countDocuments({})).toBeGreaterThan(0);
    await expectExact(store, random, 77, 8, now);
  }, 120_000);
});

describe('a database kept by a version before the day totals of devices', () => {
  it('counts whole days from the device-day documents until a rebuild covers them', async () => {
    // As the version before day totals in the directory left it.
    const { store, now, readings, coverageOf, rebuild } = await keptByEarlierVersion(78, 1200, async (db) => {
      await db.collection(DEVICE_TOTALS_COLLECTION).deleteMany({});
      await db.collection<{ _id: string }>(ROLLUP_META_COLLECTION).deleteOne({ _id: 'directory-days' });
    });
    // The device-day documents reach today only (the hours ahead have not ended: none refreshed).
    expect(await coverageOf('directory-days')).toBe(Math.ceil(now / DAY) * DAY);
    const readingsOf = async () => new Map((await store.devices.list({ ...options, limit: 100 })).devices.map((d) => [d.device, d.readings]));
    const expected = new Map(DEVICES.map((device) => [device, readings.filter((r) => r.device === device).length]));
    expect(await readingsOf()).toEqual(expected);

    await rebuild();
    expect(await coverageOf('directory-days')).toBeLessThanOrEqual(now - 9 * DAY);
    expect(await readingsOf()).toEqual(expected);
  }, 120_000);
});
