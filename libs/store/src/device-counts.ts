import type { Status, StatusEvent } from '@tally/contract';
import type { Collection, Document } from 'mongodb';
import { forEachLimited } from './concurrency';
import { dirtyBucketOf, forEachDaySlot } from './device-day-bson';
import { hourKeyOf, type DeviceRollups, type HourSlot } from './device-rollups';
import { deviceExpiryProblem, planDeviceRange, type DevicePlan, type SlotSelection } from './device-plan';
import type { ExpiryMark } from './raw-expiry';
import { chunksOf, countPerBucket, countPerDevice, countsOfSums, sumsOfStatuses, type Stretch } from './raw-counts';
import { dirtyOnDaysOf, type BucketRepository } from './rollup-buckets';
import { EVERYTHING, NOTHING, type Coverage } from './rollup-coverage';
import type { RollupOptions, SeriesPoint } from './fleet-counts';
import { StoreError } from './errors';
import { coalesceRaw, DAY, floorTo, HOUR, MINUTE, type RollupLevel } from './rollup-plan';
import { pointFinder, shapePoints, type SeriesShape } from './series-calendar';
import { addCounts, totalOf, zeroCounts, type StatusCounts, type TimeRange } from './status-counts';

/** Whose readings: these devices, or (absent) every device. */
export interface DeviceQueryOptions extends RollupOptions {
  devices?: readonly string[];
  /** The day totals of each of `devices` (device-rollups.ts `DeviceTotals`): whole days are summed from these where they hold every day. */
  dayTotals?: ReadonlyMap<string, Record<string, HourSlot>>;
}

export interface DeviceSummary {
  device: string;
  firstSeen: Date;
  lastSeen: Date;
  lastStatus: Status;
  /** Every reading of the device stored so far, counted exactly. */
  readings: number;
}

export interface DevicePage {
  devices: DeviceSummary[];
  /** Pass as `after` for the next page; absent on the last one. */
  next?: string;
}

/** Counts per device, exact at millisecond precision as the fleet's are. */
export interface DeviceCounts {
  /** The counts of each device (of `devices`, or every device with readings) in `range`; devices without any left out. */
  perDevice(range: TimeRange, options: DeviceQueryOptions): Promise<Map<string, StatusCounts>>;
  /** The counts of `devices` together in `range`. */
  count(range: TimeRange, devices: readonly string[], options: RollupOptions): Promise<StatusCounts>;
  /** The counts of `devices` together in each point of `shape`. */
  series(shape: SeriesShape, devices: readonly string[], options: RollupOptions): Promise<SeriesPoint[]>;
  /** The devices most often in `status` in `range`, most first (ties by id), with their counts. */
  top(range: TimeRange, options: RollupOptions & { status: Status; limit: number }): Promise<{ device: string; counts: StatusCounts }[]>;
  /** Devices by id, after `after`, those starting with `prefix` only. */
  list(options: RollupOptions & { prefix?: string; after?: string; limit: number }): Promise<DevicePage>;
}

const ALL_TIME: Stretch = { start: EVERYTHING.getTime(), end: NOTHING.getTime() };
/**
 * Rows asked for in the first reply of a series' statement, so that it is one: 1,500 hourly points
 * (63 days) hold at most ~92,000 dirty buckets of ~40 bytes and, for 100 devices, 6,300 device-day
 * documents of ~1-2 KB. A reply holds 16 MiB; past that, `getMore` goes on in the union's order.
 */
const SERIES_ROWS_BATCH = 100_000;
/** Above every character a device id may hold: the end of the ids that start with a prefix. */
const AFTER_ANY_ID_CHARACTER = '~';

export function createDeviceCounts(
  buckets: BucketRepository,
  raw: Collection<StatusEvent>,
  coverage: Coverage,
  rollups: DeviceRollups,
  expiryMark: () => Promise<ExpiryMark>,
): DeviceCounts {
  /**
   * The plan of `range`, from the dirty buckets under its interior that `readDirty` reads (with
   * what else it reads beside them): hours whose slots are usable are those whose fleet hour is
   * clean with no dirty minute under it, the dirty minutes read first (the fleet's rule, see
   * RollupBucket).
   */
  const planFrom = async (
    range: Stretch,
    alsoUnusable: readonly number[],
    readDirty: (interior: Stretch, check: (unusable: readonly number[]) => Promise<void>) => Promise<DirtyReads>,
  ): Promise<PlanReads> => {
    const from = Math.max((await coverage.cached('coverage')).getTime(), (await coverage.cached('device-coverage')).getTime());
    // Read beside the look for dirty buckets rather than before it (a round trip less).
    const marked = expiryMark();
    const check = async (unusable: readonly number[]) => {
      const problem = deviceExpiryProblem(range, from, alsoUnusable, unusable, (await marked).reach);
      if (problem) throw problem;
    };
    const draft = planDeviceRange(range, from, []);
    if (!draft.slots) {
      await check([]);
      return draft;
    }
    const { dirtyMinutes, dirtyHours, dirtyDays, documents } = await readDirty({ start: draft.slots.firstDay, end: draft.slots.endDay }, check);
    const unusable = [...dirtyMinutes.map((minute) => floorTo(minute, HOUR.ms)), ...dirtyHours, ...alsoUnusable];
    await check(unusable);
    return { ...planDeviceRange(range, from, unusable, [...dirtyDays, ...unusable.map((hour) => floorTo(hour, DAY.ms))]), documents };
  };

  /** The plan of `range`, its dirty buckets read in two round trips (the minutes, then the hours and days). */
  const plan = (range: Stretch, timeoutMs: number, alsoUnusable: readonly number[] = []) =>
    planFrom(range, alsoUnusable, async (interior, check) => {
      const [dirtyMinutes] = await Promise.all([buckets.dirtyIn(MINUTE, [interior], timeoutMs), check([])]);
      const [dirtyHours, dirtyDays] = await Promise.all([buckets.dirtyIn(HOUR, [interior], timeoutMs), buckets.dirtyIn(DAY, [interior], timeoutMs)]);
      return { dirtyMinutes, dirtyHours, dirtyDays };
    });

  /**
   * `plan`, and the device-day documents of `devices` on the days it takes slots from, as raw BSON,
   * in one statement: the dirty minutes, hours and days of those days, then the documents, joined
   * by `$unionWith` in the order `plan` reads them in its round trips. MongoDB runs a union's
   * pipelines one after the other, in that order; DocumentDB runs the statement on one snapshot:
   * both keep `plan`'s rule. Two round trips less than `plan` and then the documents: a month's
   * series of 10 devices at 1h over 10M readings went from p50 10.2-11.4 / p99 24-29 ms to 6.7-8.5 /
   * 18-20 ms through the store (bench/README.md has the API's figures).
   */
  const planWithDocuments = (range: Stretch, devices: readonly string[], timeoutMs: number, alsoUnusable: readonly number[]) =>
    planFrom(range, alsoUnusable, async (days) => {
      const dirty = (level: RollupLevel) => [{ $match: dirtyOnDaysOf([days]) }, { $project: { _id: 0, dirty: { $literal: level.name }, at: '$_id' } }];
      const inUnion = (coll: string, pipeline: Document[]) => ({ $unionWith: { coll, pipeline } });
      const found = await buckets
        .collection(MINUTE)
        .aggregate(
          [
            ...dirty(MINUTE),
            inUnion(HOUR.collection, dirty(HOUR)),
            inUnion(DAY.collection, dirty(DAY)),
            inUnion(rollups.days.collectionName, [
              { $match: { device: { $in: [...devices] }, day: { $gte: new Date(days.start), $lt: new Date(days.end) } } },
              { $project: { day: 1, h: 1 } },
            ]),
          ],
          // In one reply (16 MiB at most): the server's first batch is 101 rows, and a month of 10
          // devices (310) then took a second round trip. As BSON: see device-day-bson.ts.
          { maxTimeMS: timeoutMs, batchSize: SERIES_ROWS_BATCH, raw: true },
        )
        .toArray();
      const dirtyAt = new Map<string, number[]>([MINUTE, HOUR, DAY].map((level) => [level.name, []]));
      const documents: Uint8Array[] = [];
      for (const document of found as unknown as Uint8Array[]) {
        const bucket = dirtyBucketOf(document);
        if (bucket) dirtyAt.get(bucket.level)?.push(bucket.at);
        else documents.push(document);
      }
      const dirtyOf = (level: RollupLevel) => dirtyAt.get(level.name) ?? [];
      return { dirtyMinutes: dirtyOf(MINUTE), dirtyHours: dirtyOf(HOUR), dirtyDays: dirtyOf(DAY), documents };
    });

  /**
   * The server's sums over the device-day documents matching `filter`, grouped by `groupBy`: the
   * day totals of whole days (a field per status), and the selected slots of partial days, taken
   * apart with `$objectToArray` and `$unwind`. Not an expression over the slots' paths: DocumentDB
   * evaluated `$ifNull` over 24 slots at a third of a millisecond per document (10 times the
   * unwind's cost), and crashed its backend on the first run of a pipeline that size.
   */
  const sumSlots = async (selection: SlotSelection, filter: Document, groupBy: '$device' | '$day', timeoutMs: number, wholeDaysEnd = selection.endDay) => {
    const partial = [...selection.partial].filter(([, hours]) => hours.length > 0);
    const options = { maxTimeMS: timeoutMs, promoteLongs: true };
    const wholeDays = { $gte: new Date(selection.firstDay), $lt: new Date(wholeDaysEnd), $nin: [...selection.partial.keys()].map((day) => new Date(day)) };
    const [whole, parts] = await Promise.all([
      selection.firstDay >= wholeDaysEnd
        ? []
        : rollups.days
        .aggregate<SlotSums>([{ $match: { ...filter, day: wholeDays } }, { $group: { _id: groupBy, ...sumsOfStatuses((key) => `$d.c.${key}`) } }], options)
        .toArray(),
      partial.length === 0
        ? []
        : rollups.days
            .aggregate<SlotSums>(
              [
                { $match: { ...filter, day: { $in: partial.map(([day]) => new Date(day)) } } },
                { $project: { device: 1, day: 1, h: { $objectToArray: '$h' } } },
                { $unwind: '$h' },
                { $match: { $or: partial.map(([day, hours]) => ({ day: new Date(day), 'h.k': { $in: hours.map(hourKeyOf) } })) } },
                { $group: { _id: groupBy, ...sumsOfStatuses((key) => `$h.v.c.${key}`) } },
              ],
              options,
            )
            .toArray(),
    ]);
    return [...whole, ...parts];
  };

  /** A range counted from the raw readings alone (steps finer than an hour), once those are known to be there. */
  const rawOnly = async (range: Stretch) => {
    const { reach } = await expiryMark();
    if (range.start < reach) {
      throw new StoreError(
        'raw_expired',
        `Raw readings before ${new Date(reach).toISOString()} have expired (RAW_RETENTION): a device series there needs steps of whole hours (1h or more, in a zone of whole-hour offsets)`,
      );
    }
    return { raw: [range], slots: undefined };
  };

  const perDevice: DeviceCounts['perDevice'] = async (range, { timeoutMs, devices, dayTotals }) => {
    if (devices?.length === 0) return new Map();
    const { raw: rawStretches, slots } = await plan({ start: range.start.getTime(), end: range.end.getTime() }, timeoutMs);
    const totals = new Map<string, StatusCounts>();
    const add = (device: string, counts: StatusCounts) => totals.set(device, addCounts(totals.get(device) ?? zeroCounts(), counts));
    const filter = devices === undefined ? {} : { device: { $in: [...devices] } };
    // Whole days from the directory's day totals where it holds them all, before that from the device-day documents.
    const directoryFrom = dayTotals && slots ? Math.max(slots.firstDay, (await coverage.cached('directory-days')).getTime()) : undefined;
    if (slots && dayTotals && directoryFrom !== undefined) {
      for (const [device, days] of dayTotals) {
        for (const [key, total] of Object.entries(days)) {
          const day = Date.parse(key);
          if (day >= directoryFrom && day < slots.endDay && !slots.partial.has(day)) add(device, { ...zeroCounts(), ...total.c });
        }
      }
    }
    await Promise.all([
      slots &&
        sumSlots(slots, filter, '$device', timeoutMs, directoryFrom).then((groups) => {
          for (const group of groups) if (typeof group._id === 'string') add(group._id, countsOfSums(group));
        }),
      forEachLimited(chunksOf(coalesceRaw(rawStretches)), 2, async (chunk) => {
        for (const [device, counts] of await countPerDevice(raw, chunk, { timeoutMs, devices })) add(device, counts);
      }),
    ]);
    for (const [device, counts] of totals) if (Object.values(counts).every((n) => n === 0)) totals.delete(device);
    return totals;
  };

  return {
    perDevice,
    count: async (range, devices, options) => [...(await perDevice(range, { ...options, devices })).values()].reduce(addCounts, zeroCounts()),
    series: async (shape, devices, { timeoutMs }) => {
      const totals = shape.starts.map(() => zeroCounts());
      const pointOf = pointFinder(shape.starts);
      const add = (at: number, counts: StatusCounts) => addCounts(totals[pointOf(at)] as StatusCounts, counts);
      const whole = { start: shape.starts[0] as number, end: shape.end };
      // Hour slots serve steps of whole hours, but for the hours a point starts within (a zone's half hours).
      const hourly = shape.pieces.every((piece) => piece.cellMs % HOUR.ms === 0);
      const straddled = shape.starts.filter((at) => at % HOUR.ms !== 0).map((at) => floorTo(at, HOUR.ms));
      // Points on UTC days take the server's sums of each day; other points of whole hours, each slot.
      const daily = shape.starts.slice(1).every((at) => at % DAY.ms === 0);
      const planned: PlanReads = !hourly
        ? await rawOnly(whole)
        : daily
          ? await plan(whole, timeoutMs, straddled)
          : await planWithDocuments(whole, devices, timeoutMs, straddled);
      const { raw: rawStretches, slots, documents } = planned;
      // The raw readings of these devices, grouped per cell of each stretch of constant offset.
      const rawPerPiece = shape.pieces.map((piece) => ({
        piece,
        stretches: coalesceRaw(rawStretches)
          .map(({ start, end }) => ({ start: Math.max(start, piece.start), end: Math.min(end, piece.end) }))
          .filter(({ start, end }) => start < end),
      }));
      await Promise.all([
        slots && (documents ? addSlots(documents, slots, add) : addDaySums(slots, devices, timeoutMs, add)),
        forEachLimited(
          rawPerPiece.flatMap(({ piece, stretches }) => chunksOf(stretches).map((chunk) => ({ piece, chunk }))),
          2,
          async ({ piece, chunk }) => {
            for (const [cell, counts] of await countPerBucket(raw, chunk, piece.cellMs, timeoutMs, devices, piece.phase)) add(Math.max(cell, piece.start), counts);
          },
        ),
      ]);
      return shapePoints(shape).map((point, i) => ({ start: point.start, counts: totals[i] ?? zeroCounts() }));
    },
    top: async (range, { status, limit, timeoutMs }) =>
      [...(await perDevice(range, { timeoutMs }))]
        .filter(([, counts]) => counts[`${status}`] > 0)
        .sort(([a, countsA], [b, countsB]) => countsB[`${status}`] - countsA[`${status}`] || (a < b ? -1 : 1))
        .slice(0, limit)
        .map(([device, counts]) => ({ device, counts })),
    list: async ({ prefix = '', after, limit, timeoutMs }) => {
      const wanted = { $gte: prefix, $lt: `${prefix}${AFTER_ANY_ID_CHARACTER}`, ...(after !== undefined && after >= prefix ? { $gt: after } : {}) };
      const records = await rollups.devices
        .find({ _id: wanted }, { maxTimeMS: timeoutMs })
        .sort({ _id: 1 })
        .limit(limit + 1)
        .toArray();
      const page = records.slice(0, limit);
      const ids = page.map((record) => record._id);
      const totals = await rollups.totals.find({ _id: { $in: ids } }, { maxTimeMS: timeoutMs }).toArray();
      const readings = await perDevice(
        { start: new Date(ALL_TIME.start), end: new Date(ALL_TIME.end) },
        { timeoutMs, devices: ids, dayTotals: new Map(totals.map((record) => [record._id, record.days])) },
      );
      return {
        devices: page.map((record) => ({
          device: record._id,
          firstSeen: record.first_seen,
          lastSeen: record.last.at,
          lastStatus: record.last.status,
          readings: totalOf(readings.get(record._id)),
        })),
        ...(records.length > limit && page.length > 0 ? { next: page.at(-1)?._id } : {}),
      };
    },
  };

  /** The slots of `documents` (device-day BSON) in the hours `slots` selects, each added to the point of its hour. */
  function addSlots(documents: readonly Uint8Array[], slots: SlotSelection, add: (time: number, counts: StatusCounts) => void) {
    for (const document of documents) {
      forEachDaySlot(document, (day, hour, counts) => {
        const only = slots.partial.get(day);
        if (!only || only.includes(hour)) add(day + hour * HOUR.ms, counts);
      });
    }
  }

  /** The slots of `devices` in the hours `slots` selects, summed per UTC day by the server, each day added to its point. */
  async function addDaySums(slots: SlotSelection, devices: readonly string[], timeoutMs: number, add: (time: number, counts: StatusCounts) => void) {
    for (const group of await sumSlots(slots, { device: { $in: [...devices] } }, '$day', timeoutMs)) add((group._id as Date).getTime(), countsOfSums(group));
  }
}

type SlotSums = { _id: unknown } & Record<string, unknown>;

/** A plan, and the device-day documents read with it (`planWithDocuments`). */
type PlanReads = DevicePlan & { documents?: Uint8Array[] };

/** The starts of the dirty buckets under a plan's interior, and the device-day documents read with them, if any. */
interface DirtyReads {
  dirtyMinutes: readonly number[];
  dirtyHours: readonly number[];
  dirtyDays: readonly number[];
  documents?: Uint8Array[];
}

