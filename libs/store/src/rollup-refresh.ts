import type { StatusEvent } from '@tally/contract';
import type { Collection } from 'mongodb';
import type { DeviceRecord, DeviceRollups } from './device-rollups';
import { countPerBucket, countPerDeviceBucket, readingsWithin, type Stretch } from './raw-counts';
import type { BucketRepository } from './rollup-buckets';
import type { FoldLate } from './rollup-fold';
import type { ExpiryMark } from './raw-expiry';
import { coalesceRaw, DAY, floorTo, HOUR, MINUTE, ROLLUP_LEVELS, type RollupLevel } from './rollup-plan';
import { addCounts, totalOf, zeroCounts, type StatusCounts } from './status-counts';

export interface RefreshResult {
  /** Buckets recomputed and marked clean. */
  refreshed: number;
  /** Dirty buckets that ended and are still waiting (more than one call takes, or written to meanwhile). */
  pending: number;
}

/** A refresh counts dirty buckets at most this many buckets apart with one aggregate. */
const REFRESH_MERGE_GAP = 60;
/** Most readings one aggregate of the devices' hour counts reads (about 3 s of DocumentDB's time). */
export const DEVICE_SCAN_READINGS = 200_000;
/** Most readings whose device counts one write of hour slots holds (each at most one device-hour). */
const DEVICE_WRITE_READINGS = 50_000;
const [, ...COARSER] = ROLLUP_LEVELS;
/** How often a refresher looks for dirty buckets marked by an earlier version, without a day. */
const UNDATED_EVERY_MS = 60_000;

/**
 * Recomputes dirty buckets that ended, each level in turn, finest first, so that coarser buckets
 * find the finer ones refreshed: minutes from the raw readings, an hour from its minutes and a day
 * from its hours once those are all clean (else it waits for the next round). A minute's hour and
 * day are marked changed before the minute is marked clean, so a coarser bucket whose version was
 * read after that finds the minute clean only with the new counts.
 *
 * Devices ride along without marks of their own: a minute's refresh records the devices it saw
 * (first and latest reading), and an hour's refresh writes each device's counts of that hour from
 * the raw readings before the hour is marked clean, and a day's refresh each device's day total from
 * those slots before the day is marked clean (device-rollups.ts).
 */
export function createRefresher(
  buckets: BucketRepository,
  raw: Collection<StatusEvent>,
  devices: DeviceRollups,
  expiry: { mark(): Promise<ExpiryMark>; fold: FoldLate },
): (now: Date, limit: number) => Promise<RefreshResult> {
  const refreshLevel = async (index: number, now: number, limit: number): Promise<RefreshResult> => {
    const level = ROLLUP_LEVELS[index] as RollupLevel;
    const finer = ROLLUP_LEVELS[index - 1];
    const collection = buckets.collection(level);
    const found = await buckets.endedDirty(level, now, limit);
    if (found.length === 0) return { refreshed: 0, pending: 0 };
    // Read after the dirty buckets: a step that began before a bucket went dirty again is seen (raw-expiry.ts).
    const mark = await expiry.mark();
    const { dirty, expired, waiting } = sortByExpiry(found, level, mark);
    const folded = expired.length > 0 ? await expiry.fold(expired) : 0;
    if (dirty.length === 0) return { refreshed: folded, pending: found.length - folded };
    // One query per run of nearby buckets (a backlog or a rebuild dirties thousands): one that also
    // reads a few clean buckets in between costs less than one query per bucket.
    const runs = coalesceRaw(
      dirty.map((bucket) => ({ start: bucket._id.getTime(), end: bucket._id.getTime() + level.ms })),
      REFRESH_MERGE_GAP * level.ms,
    );
    const counted = new Map<number, StatusCounts>();
    for (const run of runs) {
      const perBucket = finer ? await sumFiner(finer, level, run) : await countPerBucket(raw, [run], level.ms);
      for (const [start, counts] of perBucket) counted.set(start, counts);
    }
    // From the raw readings, a bucket without any counts none; from finer buckets, it waits.
    if (!finer) for (const bucket of dirty) if (!counted.has(bucket._id.getTime())) counted.set(bucket._id.getTime(), zeroCounts());
    const refreshable = dirty.filter((bucket) => counted.has(bucket._id.getTime()));
    if (level === MINUTE) {
      await devices.noteSeen(await devicesSeen(runs));
      // The hours and days above a minute are marked changed before the minute is marked clean.
      await buckets.markChanged(
        refreshable.map((bucket) => bucket._id),
        COARSER,
      );
    }
    // An hour whose raw readings expired keeps its devices' slots: late readings are folded into them.
    if (level === HOUR) await writeDeviceHours(refreshable.filter((hour) => hour._id.getTime() >= mark.before), counted);
    if (level === DAY) await devices.writeDays(refreshable.map((bucket) => ({ start: bucket._id.getTime(), version: bucket.version })));
    // Only where the version is still the one read before counting: a write since then keeps it dirty.
    const { modifiedCount } =
      refreshable.length === 0
        ? { modifiedCount: 0 }
        : await collection.bulkWrite(
            refreshable.map((bucket) => ({
              updateOne: {
                filter: { _id: bucket._id, version: bucket.version, dirty: true },
                update: { $set: { counts: counted.get(bucket._id.getTime()), countsVersion: bucket.version, dirty: false } },
              },
            })),
            { ordered: false },
          );
    const ended = { dirty: true, day: { $lte: new Date(now - level.ms) }, _id: { $lte: new Date(now - level.ms) } };
    const pending = found.length < limit ? found.length - modifiedCount - folded : await collection.countDocuments(ended);
    return { refreshed: modifiedCount + folded, pending: Math.max(pending, waiting) };
  };

  /**
   * The counts of each bucket of `level` in `run` as the sum of its `finer` buckets, for every
   * bucket whose finer buckets are all clean (a missing one never had a reading: zero). Buckets
   * left out wait for the finer level's refresh.
   */
  const sumFiner = async (finer: RollupLevel, level: RollupLevel, { start, end }: Stretch) => {
    const parts = await buckets
      .collection(finer)
      .find({ _id: { $gte: new Date(start), $lt: new Date(end) } }, { projection: { dirty: 1, counts: 1 } })
      .toArray();
    const sums = new Map<number, StatusCounts>();
    const waiting = new Set<number>();
    for (let at = start; at < end; at += level.ms) sums.set(at, zeroCounts());
    for (const part of parts) {
      const bucket = floorTo(part._id.getTime(), level.ms);
      if (part.dirty || !part.counts) waiting.add(bucket);
      else addCounts(sums.get(bucket) ?? zeroCounts(), part.counts);
    }
    for (const bucket of waiting) sums.delete(bucket);
    return sums;
  };

  /**
   * Each device's counts of these hours, from the raw readings, into its hour slots: one aggregate
   * per stretch of at most `DEVICE_SCAN_READINGS` readings (by the hours' fleet counts), so that a
   * busy hour (36 million readings from 10,000 devices at one a second) is read in parts that each
   * end well within a server time limit, and quiet hours are read many at once. Written a batch of
   * hours at a time, so that what is held stays bounded: a backlog of 55 hours of a fleet put
   * 200,000 device-hours in one write, past the processor's heap.
   */
  const writeDeviceHours = async (hours: readonly { _id: Date; version: number }[], totals: ReadonlyMap<number, StatusCounts>) => {
    const readingsOf = (hour: { _id: Date }) => totalOf(totals.get(hour._id.getTime()));
    for (const batch of batchesOf([...hours].sort((a, b) => a._id.getTime() - b._id.getTime()), readingsOf, DEVICE_WRITE_READINGS)) {
      const perHour = new Map<number, Map<string, StatusCounts>>();
      for (const stretch of deviceScanStretches(batch.map((hour) => ({ start: hour._id.getTime(), readings: readingsOf(hour) })))) {
        for (const [start, devicesOfHour] of await countPerDeviceBucket(raw, [stretch], HOUR.ms)) {
          const into = perHour.get(start) ?? new Map<string, StatusCounts>();
          perHour.set(start, into);
          for (const [device, counts] of devicesOfHour) into.set(device, addCounts(into.get(device) ?? zeroCounts(), counts));
        }
      }
      await devices.writeHours(
        batch.map((hour) => ({ start: hour._id.getTime(), version: hour.version, devices: perHour.get(hour._id.getTime()) ?? new Map() })),
      );
    }
  };

  /** The first and latest reading of each device within `runs`. */
  const devicesSeen = async (runs: readonly Stretch[]): Promise<DeviceRecord[]> => {
    const groups = await raw
      .aggregate<{ _id: unknown; first_seen: Date; last: DeviceRecord['last'] }>([
        { $match: readingsWithin(runs) },
        { $group: { _id: '$device', first_seen: { $min: '$ts' }, last: { $max: { at: '$ts', status: '$status' } } } },
      ])
      .toArray();
    return groups.flatMap((group) => (typeof group._id === 'string' ? [{ _id: group._id, first_seen: group.first_seen, last: group.last }] : []));
  };

  let dateUndatedAfter = 0;
  return async (now, limit) => {
    // Buckets that processors of a version before `day` marked (a rolling update): once a minute.
    if (Date.now() >= dateUndatedAfter) {
      for (const level of ROLLUP_LEVELS) await buckets.dateUndated(level);
      dateUndatedAfter = Date.now() + UNDATED_EVERY_MS;
    }
    const total = { refreshed: 0, pending: 0 };
    for (const index of ROLLUP_LEVELS.keys()) {
      const { refreshed, pending } = await refreshLevel(index, now.getTime(), limit);
      total.refreshed += refreshed;
      total.pending += pending;
    }
    return total;
  };
}

/**
 * The dirty buckets of `level` by what the expiry of raw readings allows: minutes all of whose raw
 * readings expired are folded into (`expired`), never recomputed; minutes and hours of a step that
 * is expiring wait for it to end (`waiting`, how many); the rest (`dirty`) are refreshed as ever.
 * Hours whose raw readings expired are summed from their minutes like any other; days never read raw readings.
 */
export function sortByExpiry<T extends { _id: Date }>(found: readonly T[], level: RollupLevel, mark: ExpiryMark) {
  const dirty: T[] = [];
  const expired: T[] = [];
  let waiting = 0;
  for (const bucket of found) {
    const start = bucket._id.getTime();
    if (level !== DAY && start < mark.expiring && start + level.ms > mark.before) waiting++;
    else if (level === MINUTE && start < mark.before) expired.push(bucket);
    else dirty.push(bucket);
  }
  return { dirty, expired, waiting };
}

/**
 * The stretches that the devices' counts of these hours are read in: neighbouring hours together
 * while they hold at most `limit` readings, an hour with more cut into equal parts that each hold
 * about `limit` (readings within an hour are taken to be about evenly spread).
 */
export function deviceScanStretches(hours: readonly { start: number; readings: number }[], limit = DEVICE_SCAN_READINGS): Stretch[] {
  const stretches: Stretch[] = [];
  let open: { stretch: Stretch; readings: number } | undefined;
  for (const { start, readings } of [...hours].sort((a, b) => a.start - b.start)) {
    const end = start + HOUR.ms;
    if (readings > limit) {
      const parts = Math.ceil(readings / limit);
      const step = Math.ceil(HOUR.ms / parts);
      for (let at = start; at < end; at += step) stretches.push({ start: at, end: Math.min(end, at + step) });
      open = undefined;
    } else if (open && open.stretch.end === start && open.readings + readings <= limit) {
      open.stretch.end = end;
      open.readings += readings;
    } else {
      open = { stretch: { start, end }, readings };
      stretches.push(open.stretch);
    }
  }
  return stretches;
}

/** `items` in order, cut into runs whose `weight` adds up to at most `limit` (an item heavier alone is a run alone). */
export function batchesOf<T>(items: readonly T[], weight: (item: T) => number, limit: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let total = 0;
  for (const item of items) {
    if (current.length > 0 && total + weight(item) > limit) {
      batches.push(current);
      current = [];
      total = 0;
    }
    current.push(item);
    total += weight(item);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
