import type { StatusEvent } from '@tally/contract';
import { describe, expect, it } from 'vitest';
import { createDeviceRollups } from './device-rollups';
import { StoreError } from './errors';
import { seriesShape, timeZone, type SeriesShape, type SeriesStep, type TimeZone } from './series-calendar';
import { EXPIRY_IDS_COLLECTION, type ExpiryResult } from './raw-expiry';
import { createStatusEventStore, type StatusEventStore } from './status-events';
import { freshStores } from './test/fixtures';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** The readings' hours: three from midnight; expired below `MARK`. */
const START = Date.parse('2026-03-01T00:00:00Z');
const MARK = START + 2 * HOUR;
const NOW = Date.parse('2026-03-10T12:00:00Z');
const options = { timeoutMs: 10_000 };

const freshStore = freshStores('expiry_test');

/** A reading every 37 s for three hours, of devices a and b in turn (every fifth of none), received then. */
function readings(): StatusEvent[] {
  return Array.from({ length: (3 * HOUR) / 37_000 }, (_, i) => {
    const ts = new Date(START + i * 37_000);
    const device = i % 5 === 4 ? {} : { device: i % 2 === 0 ? 'a' : 'b' };
    return { _id: `r${i}`, status: i % 7, ts, receivedAt: ts, ...device };
  });
}

async function refreshAll(store: StatusEventStore) {
  while ((await store.rollups.refresh({ now: new Date(NOW), limit: 1000 })).pending > 0);
}

/** Steps of every store in turn (processors side by side) until nothing older than `olderThan` is left. */
async function expireAll(stores: StatusEventStore[], olderThan: number): Promise<ExpiryResult[]> {
  const results: ExpiryResult[] = [];
  for (;;) {
    const round = await Promise.all(stores.map((store) => store.rollups.expireRaw({ olderThan, now: NOW, graceMs: 0 })));
    results.push(...round);
    if (round.some((result) => result.state === 'waiting')) return results;
    if (round.every((result) => result.state === 'idle')) return results;
  }
}

const range = (start: number, end: number) => ({ start: new Date(start), end: new Date(end) });
const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

describe('raw expiry', () => {
  it('deletes the raw readings of whole hours once, keeps every count, folds a late reading in once and refuses what needs the gone readings', async () => {
    const { store, db } = freshStore();
    const second = createStatusEventStore({ db });
    await store.ensureIndexes();
    // One reading received within the last day: it keeps its hour (the third) from expiring.
    const fresh = { _id: 'fresh', status: 2, ts: new Date(START + 150 * MINUTE), receivedAt: new Date(NOW - HOUR) };
    const written = [...readings(), fresh];
    await store.insertReadings(written);
    await refreshAll(store);
    const whole = range(START - DAY, START + DAY);
    const lateMinute = range(START + 30 * MINUTE, START + 31 * MINUTE);
    const questions = [
      () => store.countByStatus(whole, options),
      () => store.countByStatus(range(START + 7 * MINUTE, START + 150 * MINUTE), options),
      () => store.countByStatus(lateMinute, options),
      () => store.countByStatus(whole, { ...options, devices: ['a'] }),
      () => store.countByStatus(range(START, START + HOUR), { ...options, devices: ['a', 'b'] }),
      async () => (await store.devices.perDevice(whole, options)).get('a'),
    ];
    const before = await Promise.all(questions.map((ask) => ask()));
    const day = range(START, START + DAY);
    const shape = (step: SeriesStep, zone: string) => seriesShape(day, step, timeZone(zone) as TimeZone, 2000) as SeriesShape;
    const series = [
      () => store.series(shape('1m', 'UTC'), options),
      () => store.series(shape('1h', 'Asia/Kolkata'), options),
      () => store.series(shape('1h', 'UTC'), { ...options, devices: ['a'] }),
    ];
    const seriesBefore = await Promise.all(series.map((ask) => ask()));

    // Two processors side by side: each hour is deleted once, by one of them.
    const results = await expireAll([store, second], MARK);
    const deleted = results.flatMap((result) => (result.state === 'expired' ? [result] : []));
    expect(deleted.map((result) => [result.hour.getTime(), result.end.getTime()])).toEqual([[START, MARK]]);
    expect(deleted.reduce((sum, result) => sum + result.deleted, 0)).toBe(written.filter((r) => r.ts.getTime() < MARK).length);
    expect(await store.collection.countDocuments({ ts: { $lt: new Date(MARK) } })).toBe(0);
    expect(await store.rollups.expiryMark()).toEqual({ before: MARK, expiring: MARK, reach: MARK });
    expect(await Promise.all(questions.map((ask) => ask()))).toEqual(before);
    expect(await Promise.all(series.map((ask) => ask()))).toEqual(seriesBefore);
    await expect(store.series(shape('15m', 'UTC'), { ...options, devices: ['a'] })).rejects.toThrow(/a device series there needs steps of whole hours/);

    // Edges that would need the gone readings: a 400 naming the alignment that works.
    await expect(store.countByStatus(range(START + 7 * MINUTE + 500, START + 3 * HOUR), options)).rejects.toThrow(
      new StoreError('raw_expired', 'Raw readings before 2026-03-01T02:00:00.000Z have expired (RAW_RETENTION), and 2026-03-01T00:07:00.500Z needs them: before 2026-03-01T02:00:00.000Z, give times on whole minutes (UTC), e.g. 2026-03-01T00:07:00.000Z'),
    );
    await expect(store.countByStatus(range(START + 7 * MINUTE, START + 3 * HOUR), { ...options, devices: ['a'] })).rejects.toThrow(/whole hours/);
    await expect(store.rollups.rebuild(range(START, START + DAY))).rejects.toThrow(/cannot be rebuilt; rebuild from 2026-03-02T00:00:00.000Z on/);

    // A late reading into an expired minute, then a redelivered copy of it: one more, fleet and device.
    const late = { _id: 'late', status: 3, ts: new Date(START + 30 * MINUTE + 5000), receivedAt: new Date(NOW), device: 'a' };
    await store.insertReadings([late]);
    await expect(store.countByStatus(lateMinute, options)).rejects.toThrow(/is being added to the rollups/);
    // A fold that crashed after adding it to the device's slot: the next one adds it there no more.
    await createDeviceRollups(db).foldLate([late]);
    await Promise.all([refreshAll(store), refreshAll(second)]);
    await store.insertReadings([late]);
    await refreshAll(store);
    const after = await Promise.all(questions.map((ask) => ask()));
    const plusOne = (counts: unknown) => ({ ...(counts as Record<string, number>), 3: (counts as Record<string, number>)['3'] as number + 1 });
    expect(after).toEqual([plusOne(before[0]), plusOne(before[1]), plusOne(before[2]), plusOne(before[3]), plusOne(before[4]), plusOne(before[5])]);
    expect(total(after[0] as Record<string, number>)).toBe(written.length + 1);

    // A redelivered copy of a reading received within the last day must still meet its raw twin: its hour waits.
    expect(await expireAll([store], START + 3 * HOUR)).toContainEqual(
      expect.objectContaining({ state: 'waiting', reason: expect.stringMatching(/2026-03-10T11:00:00.000Z, less than a day ago/) }),
    );
    expect(await store.collection.countDocuments({ ts: { $gte: new Date(MARK) } })).toBe(written.filter((r) => r.ts.getTime() >= MARK).length);
  });
});

describe('raw expiry steps', () => {
  it('delete only the readings they listed: one written into the hour during the grace stays and counts once', async () => {
    const { store, db } = freshStore();
    await store.ensureIndexes();
    await store.insertReadings(readings());
    await refreshAll(store);
    const minute = range(START + 10 * MINUTE, START + 11 * MINUTE);
    const before = total(await store.countByStatus(minute, options));
    const step = store.rollups.expireRaw({ olderThan: START + HOUR, now: NOW, graceMs: 3000 });
    // Listed once the ids are written; the deletion waits for the grace.
    await expect.poll(() => db.collection(EXPIRY_IDS_COLLECTION).countDocuments(), { timeout: 15_000 }).toBeGreaterThan(0);
    const late = { _id: 'written-during-grace', status: 4, ts: new Date(START + 10 * MINUTE + 5), receivedAt: new Date(NOW - 2 * DAY) };
    await store.insertReadings([late]);
    expect(await step).toMatchObject({ state: 'expired', deleted: Math.ceil(HOUR / 37_000) });
    expect(await store.collection.countDocuments({ _id: late._id })).toBe(1);
    await refreshAll(store);
    expect(total(await store.countByStatus(minute, options))).toBe(before + 1);
  });

  it('rests after a step restRatio times as long as the step worked, and not at all at 0', async () => {
    const { store } = freshStore();
    await store.ensureIndexes();
    await store.insertReadings(readings());
    await refreshAll(store);
    const started = performance.now();
    const paced = await store.rollups.expireRaw({ olderThan: START + HOUR, now: NOW, graceMs: 0, restRatio: 3 });
    const elapsed = performance.now() - started;
    expect(paced).toMatchObject({ state: 'expired', deleted: Math.ceil(HOUR / 37_000) });
    const { restedMs } = paced as Extract<ExpiryResult, { state: 'expired' }>;
    // The step worked restedMs / 3 and then rested restedMs: lower bounds, which a slow machine only raises.
    expect(restedMs).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(restedMs + restedMs / 3 - 2);
    const unpaced = await store.rollups.expireRaw({ olderThan: START + 2 * HOUR, now: NOW, graceMs: 0, restRatio: 0 });
    expect(unpaced).toMatchObject({ state: 'expired', restedMs: 0 });
  });
});
