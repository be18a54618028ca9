import type { StatusEvent } from '@tally/contract';
import { MongoBulkWriteError, MongoServerError, type AnyBulkWriteOperation, type Collection, type Db } from 'mongodb';
import {
  bucketsOf,
  coalesceRaw,
  coverageAfterRebuild,
  floorTo,
  planRange,
  ROLLUP_LEVELS,
  seriesPoints,
  type RollupLevel,
  type Segment,
} from './rollup-plan';
import { StoreError, withinTimeout } from './errors';
import { addCounts, countByStatus, STATUS_KEYS, toStatusCounts, zeroCounts, type StatusCounts, type TimeRange } from './status-counts';

/**
 * One bucket of one level. `version` grows each time the bucket's readings may have changed;
 * `counts` were computed after `version` read `countsVersion`. The bucket is clean (its counts
 * can be used) while `dirty` is false, which a refresh sets only if `version` did not move meanwhile.
 *
 * Writers mark only minutes (after the raw insert, before the ack). A refresh recomputes a minute
 * from the raw readings and, before marking it clean, marks its hour and day changed; an hour is
 * recomputed from its minutes and a day from its hours, once those are all clean. A count uses a
 * clean hour or day only if no minute inside it is dirty, reading the dirty minutes first: then
 * any write acknowledged before the count is in what it uses (see `countPlans`).
 */
export interface RollupBucket {
  _id: Date;
  version: number;
  dirty: boolean;
  counts?: StatusCounts;
  countsVersion?: number;
}

/** Where the rollups hold every reading: buckets starting before `from` are counted from raw readings. */
interface Coverage {
  _id: 'coverage';
  from: Date;
}

export const ROLLUP_META_COLLECTION = 'status_rollups_meta';
/** Far enough back for any reading a JavaScript date can hold. */
const EVERYTHING = new Date(-8.64e15);
/** Coverage before `ensure()` ever ran on this database: readings may predate rollups, so none is used. */
const NOTHING = new Date(8.64e15);
const DUPLICATE_KEY = 11000;
const NAMESPACE_NOT_FOUND = 26;
const INDEX_NOT_FOUND = 27;
const NOT_IMPLEMENTED = 238;
const DAY_MS = 86_400_000;
/** Longest range planned bucket by bucket (about 55 years of days); a longer one has its whole days summed by the server. */
const MAX_PLANNED_DAYS = 20_000;
/** How long counts use a coverage read before reading it again. */
const COVERAGE_CACHE_MS = 5000;
type Stretch = { start: number; end: number };
/** A refresh counts dirty buckets at most this many buckets apart with one aggregate. */
const REFRESH_MERGE_GAP = 60;
/** Raw counts (dirty buckets, the ends of a range) run at most this many at once. */
const RAW_CONCURRENCY = 4;
/** Most stretches one raw count takes in its `$or`. */
const RAW_RANGES_PER_QUERY = 100;
/** Sums of each status's counts, `s0`..`s6`, as `$group` accumulators. */
const SUM_OF_COUNTS = Object.fromEntries(STATUS_KEYS.map((key) => [`s${key}`, { $sum: `$counts.${key}` }]));

export interface RollupOptions {
  /** Bounds every server call of a count (`maxTimeMS`). */
  timeoutMs: number;
}

export interface RefreshResult {
  /** Buckets recomputed and marked clean. */
  refreshed: number;
  /** Dirty buckets that ended and are still waiting (more than one call takes, or written to meanwhile). */
  pending: number;
}

export interface Rollups {
  /** Creates the collections' indexes and, on first use, where the rollups start to hold every reading. */
  ensure(): Promise<void>;
  /** Marks the buckets of these readings as changed: call after their raw insert, before acknowledging. */
  markChanged(times: readonly Date[]): Promise<void>;
  /** Recomputes up to `limit` dirty buckets per level that ended before `now`, from the raw readings. */
  refresh(options?: RefreshOptions): Promise<RefreshResult>;
  /** Counts in `[start, end)`: clean buckets from the rollups, the rest from the raw readings. */
  count(range: TimeRange, options: RollupOptions): Promise<StatusCounts>;
  /** The counts of each UTC-aligned step in `[start, end)`, each clipped to the range. */
  series(range: TimeRange, stepMs: number, options: RollupOptions): Promise<{ start: Date; counts: StatusCounts }[]>;
  /**
   * Recomputes the buckets of the days of `[start, end)` from the raw readings, newest first, and
   * moves coverage back over each day done if the days rebuilt reach where coverage starts.
   */
  rebuild(range: TimeRange, options?: RebuildOptions): Promise<void>;
  /** The time from which the rollups hold every reading. */
  coverage(): Promise<Date>;
}

export interface RefreshOptions {
  /** @default now */
  now?: Date;
  /** @default 500 */
  limit?: number;
  /**
   * Past this, the refresh fails with a `StoreError` (code `timeout`), even against a server that
   * hangs; what it did so far stays valid (a bucket is marked clean only with its counts).
   * @default no bound
   */
  timeoutMs?: number;
}

export interface RebuildOptions {
  /** Told after each day with readings is rebuilt, newest first (days without readings are skipped). */
  onProgress?: (done: { day: Date; buckets: number }) => void;
  signal?: AbortSignal;
}

export function createRollups(db: Db, raw: Collection<StatusEvent>): Rollups {
  const collections = new Map(ROLLUP_LEVELS.map((level) => [level.name, db.collection<RollupBucket>(level.collection)]));
  const bucketsOfLevel = (level: RollupLevel) => collections.get(level.name) as Collection<RollupBucket>;
  const meta = db.collection<Coverage>(ROLLUP_META_COLLECTION);

  const coverage = async () => (await meta.findOne({ _id: 'coverage' }))?.from ?? NOTHING;
  // Coverage only ever moves back in time, so a cached value is at worst too cautious (more raw counting).
  let cached: { from: Date; at: number } | undefined;
  const cachedCoverage = async () => {
    if (cached && Date.now() - cached.at < COVERAGE_CACHE_MS) return cached.from;
    const from = await coverage();
    cached = { from, at: Date.now() };
    return from;
  };

  /** Marks the buckets of `times` changed in each of `levels`, in order. */
  const markLevels = async (times: readonly Date[], levels: readonly RollupLevel[]) => {
    for (const level of levels) {
      // In time order, so that writers marking the same buckets lock them in the same order (no deadlock).
      const starts = bucketsOf(times, level).sort((a, b) => a - b);
      const operations: AnyBulkWriteOperation<RollupBucket>[] = starts.map((start) => ({
        updateOne: { filter: { _id: new Date(start) }, update: { $inc: { version: 1 }, $set: { dirty: true } }, upsert: true },
      }));
      if (operations.length > 0) await upsertAll(bucketsOfLevel(level), operations);
    }
  };
  const [MINUTE, ...COARSER] = ROLLUP_LEVELS as [RollupLevel, ...RollupLevel[]];
  const DAY = ROLLUP_LEVELS.at(-1) as RollupLevel;
  const markChanged = (times: readonly Date[]) => markLevels(times, [MINUTE]);

  /**
   * Recomputes dirty buckets of `level` that ended: minutes from the raw readings, an hour from its
   * minutes and a day from its hours once those are all clean (else it waits for the next round).
   * A minute's hour and day are marked changed before the minute is marked clean, so a coarser
   * bucket whose version was read after that finds the minute clean only with the new counts.
   */
  const refreshLevel = async (index: number, now: number, limit: number): Promise<RefreshResult> => {
    const level = ROLLUP_LEVELS[index] as RollupLevel;
    const finer = ROLLUP_LEVELS[index - 1];
    const collection = bucketsOfLevel(level);
    const ended = { dirty: true, _id: { $lte: new Date(now - level.ms) } };
    const dirty = await collection.find(ended, { projection: { version: 1 } }).sort({ _id: 1 }).limit(limit).toArray();
    if (dirty.length === 0) return { refreshed: 0, pending: 0 };
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
    // The hours and days above a minute are marked changed before the minute is marked clean.
    if (!finer) await markLevels(refreshable.map((bucket) => bucket._id), COARSER);
    // Only where the version is still the one read before counting: a write since then keeps it dirty.
    const { modifiedCount } =
      refreshable.length === 0
        ? { modifiedCount: 0 }
        : await collection.bulkWrite(
            refreshable.map((bucket) => ({
              updateOne: {
                filter: { _id: bucket._id, version: bucket.version },
                update: { $set: { counts: counted.get(bucket._id.getTime()), countsVersion: bucket.version, dirty: false } },
              },
            })),
            { ordered: false },
          );
    const pending = dirty.length < limit ? dirty.length - modifiedCount : await collection.countDocuments(ended);
    return { refreshed: modifiedCount, pending };
  };

  /**
   * The counts of each bucket of `level` in `run` as the sum of its `finer` buckets, for every
   * bucket whose finer buckets are all clean (a missing one never had a reading: zero). Buckets
   * left out wait for the finer level's refresh.
   */
  const sumFiner = async (finer: RollupLevel, level: RollupLevel, { start, end }: Stretch) => {
    const parts = await bucketsOfLevel(finer)
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

  /** The starts of the dirty minutes within `stretches`. */
  const minutesDirtyIn = async (stretches: readonly Stretch[], timeoutMs: number): Promise<number[]> => {
    if (stretches.length === 0) return [];
    const found = await bucketsOfLevel(MINUTE)
      .find({ dirty: true, ...startsWithin(stretches) }, { projection: { _id: 1 }, maxTimeMS: timeoutMs })
      .toArray();
    return found.map((minute) => minute._id.getTime());
  };

  /**
   * The buckets of `level` that start at `starts` and exist, gathered by the server into one
   * document: FerretDB hands over one document much faster than hundreds (a month's 720 hours:
   * 3.7 ms instead of 7.6 ms p50 at 10M readings).
   */
  const readBuckets = async (level: RollupLevel, starts: readonly number[], timeoutMs: number) => {
    if (starts.length === 0) return [];
    const runs = coalesceRaw(starts.map((start) => ({ start, end: start + level.ms })));
    // Several runs by `$in`: DocumentDB scans the collection for an `$or` of `_id` ranges (a day's
    // count took 19 ms that way, 3.6 ms with `$in`); one run by its range (a month's hours: 5.4 vs 7.5 ms).
    const match = runs.length === 1 ? startsWithin(runs) : { _id: { $in: starts.map((start) => new Date(start)) } };
    const [all] = await bucketsOfLevel(level)
      .aggregate<{ buckets: Pick<RollupBucket, '_id' | 'dirty' | 'counts'>[] }>(
        [
          { $match: match },
          { $group: { _id: null, buckets: { $push: { _id: '$_id', dirty: '$dirty', counts: '$counts' } } } },
        ],
        { maxTimeMS: timeoutMs },
      )
      .toArray();
    return all?.buckets ?? [];
  };

  /**
   * The counts of each plan (a list of segments): clean buckets from the rollups, fetched with one
   * query per level for all plans, and everything else from the raw readings.
   */
  const countPlans = async (plans: readonly Segment[][], { timeoutMs }: RollupOptions): Promise<StatusCounts[]> => {
    const from = (await cachedCoverage()).getTime();
    const totals = plans.map(() => zeroCounts());
    const known = plans.map((): Stretch[] => []); // raw from the plan: the ends of a range, what coverage lacks
    const dirty = plans.map((): Stretch[] => []);
    const wanted = new Map<RollupLevel, Map<number, number[]>>(); // level → bucket start → plan indexes
    plans.forEach((segments, plan) => {
      for (const segment of segments) {
        if (segment.kind === 'raw') known[plan]?.push(segment);
        else if (segment.start < from) known[plan]?.push({ start: segment.start, end: segment.start + segment.level.ms });
        else {
          const byStart = wanted.get(segment.level) ?? new Map<number, number[]>();
          byStart.set(segment.start, [...(byStart.get(segment.start) ?? []), plan]);
          wanted.set(segment.level, byStart);
        }
      }
    });
    const countRaw = (stretches: Stretch[][]) =>
      forEachLimited([...stretches.entries()], RAW_CONCURRENCY, async ([plan, list]) => {
        if (list.length === 0) return;
        // One aggregate per plan, its stretches in one $or: with PostgreSQL's JIT off, an $or of a
        // range's two ends costs what one end does (12-14 ms p50 at 1M and 10M readings), and less
        // than two aggregates at once (19-21 ms), which compete for the server's cores.
        const ranges = coalesceRaw(list).map(({ start, end }) => ({ start: new Date(start), end: new Date(end) }));
        addCounts(totals[plan] as StatusCounts, await countByStatus(raw, ranges, { timeoutMs }));
      });
    // The dirty minutes under the coarser buckets wanted, read before those buckets (see RollupBucket);
    // the raw stretches known from the plans and the minutes need not wait for them.
    const coarse = [...wanted].filter(([level]) => level !== MINUTE).flatMap(([level, byStart]) =>
      [...byStart.keys()].map((start) => ({ start, end: start + level.ms })),
    );
    const dirtyMinutes = minutesDirtyIn(coalesceRaw(coarse), timeoutMs);
    await Promise.all([
      countRaw(known),
      dirtyMinutes,
      ...[...wanted].map(async ([level, byStart]) => {
        if (level !== MINUTE) {
          const under = await dirtyMinutes;
          for (const start of byStart.keys()) {
            if (!under.some((minute) => minute >= start && minute < start + level.ms)) continue;
            for (const plan of byStart.get(start) ?? []) dirty[plan]?.push({ start, end: start + level.ms });
            byStart.delete(start);
          }
        }
        // A bucket without a document never had a reading written through the store: zero.
        for (const bucket of await readBuckets(level, [...byStart.keys()], timeoutMs)) {
          const start = bucket._id.getTime();
          for (const plan of byStart.get(start) ?? []) {
            if (bucket.dirty || !bucket.counts) dirty[plan]?.push({ start, end: start + level.ms });
            else addCounts(totals[plan] as StatusCounts, bucket.counts);
          }
        }
      }),
    ]);
    await countRaw(dirty);
    return totals;
  };

  /**
   * The counts of `[start, end)`, whole buckets of `level`, per UTC-aligned step of `stepMs` (a
   * multiple of the level's), by step start; or all in one, under `start`, without `stepMs`. The
   * server sums the clean buckets, one group per step, instead of handing over every bucket (a
   * series of 1,500 quarter hours read 22,500 minutes); the rest is counted raw. As in
   * `countPlans`, a coarser bucket counts only if no minute under it was dirty, read before it.
   */
  const countWhole = async (level: RollupLevel, stretch: Stretch, stepMs: number | undefined, timeoutMs: number) => {
    const stepOf = (time: number) => (stepMs === undefined ? stretch.start : floorTo(time, stepMs));
    const perStep = new Map<number, StatusCounts>();
    const add = (time: number, counts: StatusCounts) => {
      const at = stepOf(time);
      perStep.set(at, addCounts(perStep.get(at) ?? zeroCounts(), counts));
    };
    const tainted =
      level === MINUTE ? [] : [...new Set((await minutesDirtyIn([stretch], timeoutMs)).map((minute) => floorTo(minute, level.ms)))];
    const notClean = [...tainted];
    for (const group of await sumClean(level, stretch, stepMs, tainted, timeoutMs)) {
      if (group._id.unclean === null) add(Number(group._id.step ?? stretch.start), countsOfSums(group));
      else notClean.push(group._id.unclean.getTime());
    }
    const runs = coalesceRaw(notClean.map((start) => ({ start, end: start + level.ms })));
    const chunks = Array.from({ length: Math.ceil(runs.length / RAW_RANGES_PER_QUERY) }, (_, i) =>
      runs.slice(i * RAW_RANGES_PER_QUERY, (i + 1) * RAW_RANGES_PER_QUERY),
    );
    await forEachLimited(chunks, RAW_CONCURRENCY, async (chunk) => {
      // Grouped per step by each reading's time, as a run may span two steps.
      for (const [start, counts] of await countPerBucket(raw, chunk, stepMs ?? level.ms, timeoutMs)) add(start, counts);
    });
    return perStep;
  };

  /**
   * The buckets of `level` in `stretch` but those at `skip`, grouped by the server: the clean ones
   * summed per step of `stepMs` (`unclean: null`), each other one alone (`unclean`: its start).
   */
  const sumClean = (level: RollupLevel, { start, end }: Stretch, stepMs: number | undefined, skip: readonly number[], timeoutMs: number) =>
    bucketsOfLevel(level)
      .aggregate<{ _id: { step: unknown; unclean: Date | null } } & Record<string, unknown>>(
        [
          {
            $match: {
              _id: { $gte: new Date(start), $lt: new Date(end), ...(skip.length > 0 ? { $nin: skip.map((at) => new Date(at)) } : {}) },
            },
          },
          {
            $group: {
              _id: {
                step: stepMs === undefined ? null : bucketExpression(stepMs, '$_id'),
                unclean: { $cond: [{ $eq: ['$dirty', false] }, null, '$_id'] },
              },
              ...SUM_OF_COUNTS,
            },
          },
        ],
        { maxTimeMS: timeoutMs, promoteLongs: true },
      )
      .toArray();

  return {
    ensure: async () => {
      await Promise.all(ROLLUP_LEVELS.map((level) => ensureDirtyIndex(bucketsOfLevel(level))));
      if (await meta.findOne({ _id: 'coverage' })) return;
      // A store that starts empty holds every reading in its rollups; one with readings written
      // before rollups existed holds them from the next whole day on, until a rebuild goes back.
      const empty = (await raw.findOne({}, { projection: { _id: 1 } })) === null;
      const from = empty ? EVERYTHING : new Date(Math.ceil(Date.now() / DAY_MS) * DAY_MS);
      await meta.updateOne({ _id: 'coverage' }, { $setOnInsert: { from } }, { upsert: true }).catch((error: unknown) => {
        if (!(error instanceof Error && 'code' in error && error.code === DUPLICATE_KEY)) throw error;
      });
    },
    markChanged,
    refresh: ({ now = new Date(), limit = 500, timeoutMs } = {}) =>
      timeoutMs === undefined ? refreshAll(now, limit) : withinTimeout(refreshAll(now, limit), timeoutMs, 'The rollup refresh'),
    count: async (range, options) => {
      if (range.end.getTime() - range.start.getTime() <= MAX_PLANNED_DAYS * DAY_MS) {
        return (await countPlans([planRange(range)], options))[0] ?? zeroCounts();
      }
      // A range of centuries would plan a bucket per day: its whole days are summed by the server,
      // those before the rollups' coverage counted raw, and its ends (less than a day each) planned.
      const days = { start: ceilTo(range.start.getTime(), DAY_MS), end: floorTo(range.end.getTime(), DAY_MS) };
      const covered = Math.min(days.end, Math.max(days.start, ceilTo((await cachedCoverage()).getTime(), DAY_MS)));
      const ends = [
        { start: range.start, end: new Date(days.start) },
        { start: new Date(days.end), end: range.end },
      ];
      const [planned, before, whole] = await Promise.all([
        countPlans(ends.map((end) => planRange(end)), options),
        covered > days.start ? countByStatus(raw, { start: new Date(days.start), end: new Date(covered) }, options) : zeroCounts(),
        countWhole(DAY, { start: covered, end: days.end }, undefined, options.timeoutMs),
      ]);
      return [...planned, ...whole.values()].reduce(addCounts, before);
    },
    series: async (range, stepMs, options) => {
      const points = seriesPoints(range, stepMs);
      if ((await cachedCoverage()) > range.start) {
        // Not (all) in the rollups yet: one grouped aggregate, rather than one per point.
        const perBucket = await countPerBucket(raw, [{ start: range.start.getTime(), end: range.end.getTime() }], stepMs, options.timeoutMs);
        return points.map((point) => ({
          start: point.start,
          counts: perBucket.get(floorTo(point.start.getTime(), stepMs)) ?? zeroCounts(),
        }));
      }
      // A step of several buckets (5m, 15m, 6h): the whole steps from the buckets of the coarsest
      // level that divides it, summed per step by the server, and the first and last points, when
      // clipped, planned as any range. A step of one bucket: every point planned (one bucket each),
      // which reads them faster than the server sums them.
      const coarsest = [...ROLLUP_LEVELS].reverse().find((l) => stepMs % l.ms === 0);
      const level = coarsest && coarsest.ms < stepMs ? coarsest : undefined;
      const whole = { start: ceilTo(range.start.getTime(), stepMs), end: floorTo(range.end.getTime(), stepMs) };
      const isWhole = (point: TimeRange) =>
        level !== undefined && point.start.getTime() >= whole.start && point.end.getTime() <= whole.end;
      const clipped = points.filter((point) => !isWhole(point));
      const [perStep, clippedCounts] = await Promise.all([
        level && whole.start < whole.end ? countWhole(level, whole, stepMs, options.timeoutMs) : new Map<number, StatusCounts>(),
        countPlans(clipped.map((point) => planRange(point)), options),
      ]);
      let next = 0;
      return points.map((point) => ({
        start: point.start,
        counts: (isWhole(point) ? perStep.get(point.start.getTime()) : clippedCounts[next++]) ?? zeroCounts(),
      }));
    },
    rebuild: async ({ start, end }, { onProgress, signal } = {}) => {
      const first = floorTo(start.getTime(), DAY_MS);
      const top = Math.ceil(end.getTime() / DAY_MS) * DAY_MS;
      const before = (await coverage()).getTime();
      // Only over days rebuilt without a gap down from where coverage starts: a day between that
      // was never rebuilt would then be read from rollups that lack its readings.
      const extendCoverage = async (rebuiltFrom: number) => {
        const from = coverageAfterRebuild(before, { start: rebuiltFrom, end: top });
        if (from < before) await meta.updateOne({ _id: 'coverage' }, { $min: { from: new Date(from) } }, { upsert: true });
      };
      for (let at = top; at > first; ) {
        signal?.throwIfAborted();
        // Straight to the newest day below `at` that holds readings: days without any need nothing.
        const [latest] = await raw
          .find({ ts: { $gte: new Date(first), $lt: new Date(at) } }, { projection: { ts: 1 } })
          .sort({ ts: -1 })
          .limit(1)
          .toArray();
        if (!latest) {
          await extendCoverage(first);
          break;
        }
        at = floorTo(latest.ts.getTime(), DAY_MS) + DAY_MS;
        const chunk = { start: new Date(at - DAY_MS), end: new Date(at) };
        const times = await minutesWithReadings(raw, chunk);
        await markChanged(times);
        // Counts can use the chunk's rollups once its buckets are marked; refreshing them now only
        // saves the raw counts that dirty buckets cost until the processor's refresher gets to them.
        await refreshAll(chunk.end, Math.max(1000, times.length));
        await extendCoverage(chunk.start.getTime());
        onProgress?.({ day: chunk.start, buckets: times.length });
        at = chunk.start.getTime();
      }
    },
    coverage,
  };

  /** Each level in turn, finest first, so that coarser buckets find the finer ones refreshed. */
  async function refreshAll(now: Date, limit: number): Promise<RefreshResult> {
    const total = { refreshed: 0, pending: 0 };
    for (const index of ROLLUP_LEVELS.keys()) {
      const { refreshed, pending } = await refreshLevel(index, now.getTime(), limit);
      total.refreshed += refreshed;
      total.pending += pending;
    }
    return total;
  }
}

/** The counts a `$group` with `SUM_OF_COUNTS` summed. */
function countsOfSums(group: Record<string, unknown>): StatusCounts {
  const counts = zeroCounts();
  for (const key of STATUS_KEYS) counts[key] = Number(group[`s${key}`] ?? 0);
  return counts;
}

function ceilTo(time: number, ms: number): number {
  return -floorTo(-time, ms);
}

/**
 * Indexes the dirty buckets only, so that looking for them (the refresher; a count, for the dirty
 * minutes under its hours and days) costs what there is to find. It replaces `{dirty: 1, _id: 1}`
 * over every bucket, through which DocumentDB read a range's every entry: a month of minutes, none
 * dirty, took 6.6 ms that way and takes 0.7 ms now. Not `{_id: 1}` alone: MongoDB allows no
 * partial index on `_id`.
 */
async function ensureDirtyIndex(buckets: Collection<RollupBucket>): Promise<void> {
  await buckets.dropIndex('dirty').catch((error: unknown) => {
    // Dropped already, or no collection yet.
    if (!(error instanceof MongoServerError && (error.code === INDEX_NOT_FOUND || error.code === NAMESPACE_NOT_FOUND))) throw error;
  });
  await buckets.createIndex({ _id: 1, dirty: 1 }, { name: 'dirty_buckets', partialFilterExpression: { dirty: true } }).catch((error: unknown) => {
    // FerretDB v1: `Index option "partialFilterExpression" is not implemented yet`.
    if (error instanceof MongoServerError && (error.code === NOT_IMPLEMENTED || /partialFilterExpression/.test(error.message))) {
      throw new StoreError(
        'unsupported_engine',
        'The MongoDB server cannot create partial indexes, which the rollups need: use MongoDB 7+ or FerretDB v2',
        { cause: error },
      );
    }
    throw error;
  });
}

/** A filter on bucket starts (`_id`) within any of `stretches`. */
function startsWithin(stretches: readonly Stretch[]) {
  const within = stretches.map(({ start, end }) => ({ _id: { $gte: new Date(start), $lt: new Date(end) } }));
  return within.length === 1 ? (within[0] as (typeof within)[number]) : { $or: within };
}

/** Upserts that lose a race to create the same bucket fail with a duplicate key: they then match it, once retried. */
async function upsertAll(collection: Collection<RollupBucket>, operations: AnyBulkWriteOperation<RollupBucket>[]) {
  try {
    await collection.bulkWrite(operations, { ordered: false });
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error;
    const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    if (errors.length === 0 || errors.some((e) => e.code !== DUPLICATE_KEY)) throw error;
    await collection.bulkWrite(
      errors.map((e) => operations[e.index] as AnyBulkWriteOperation<RollupBucket>),
      { ordered: false },
    );
  }
}

/**
 * `ts` rounded down to a multiple of `ms` since 1970, as milliseconds (before 1970 too). Arithmetic
 * rather than `$dateTrunc`: DocumentDB's `$dateTrunc` to a day answers the wrong day (2026-02-28T10:39Z
 * gave 2026-02-26 on v0.106).
 */
function bucketExpression(ms: number, field = '$ts') {
  const time = { $toLong: field };
  return { $subtract: [time, { $mod: [{ $add: [{ $mod: [time, ms] }, ms] }, ms] }] };
}

/** The counts of every UTC-aligned bucket of `bucketMs` within `stretches` that holds readings, by bucket start. */
async function countPerBucket(
  raw: Collection<StatusEvent>,
  stretches: readonly Stretch[],
  bucketMs: number,
  timeoutMs = 60_000,
): Promise<Map<number, StatusCounts>> {
  const within = stretches.map(({ start, end }) => ({ ts: { $gte: new Date(start), $lt: new Date(end) } }));
  const groups = await raw
    .aggregate<{ _id: { bucket: unknown; status: unknown }; count: number }>(
      [
        { $match: within.length === 1 ? within[0] : { $or: within } },
        { $group: { _id: { bucket: bucketExpression(bucketMs), status: '$status' }, count: { $sum: 1 } } },
      ],
      { maxTimeMS: timeoutMs, promoteLongs: true },
    )
    .toArray();
  const perBucket = new Map<number, StatusCounts>();
  for (const { _id, count } of groups) {
    const key = Number(_id.bucket);
    const counts = perBucket.get(key) ?? zeroCounts();
    addCounts(counts, toStatusCounts([{ _id: _id.status, count }]));
    perBucket.set(key, counts);
  }
  return perBucket;
}

/** The start of every minute in `range` that holds a reading, one date each. */
async function minutesWithReadings(raw: Collection<StatusEvent>, range: TimeRange): Promise<Date[]> {
  const minute = ROLLUP_LEVELS[0] as RollupLevel;
  const buckets = await countPerBucket(raw, [{ start: range.start.getTime(), end: range.end.getTime() }], minute.ms);
  return [...buckets.keys()].map((start) => new Date(start));
}

async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
