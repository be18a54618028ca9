import { MongoBulkWriteError, MongoServerError, type AnyBulkWriteOperation, type Collection, type Db } from 'mongodb';
import { DUPLICATE_KEY, StoreError } from './errors';
import { bucketExpression, sumsOfStatuses, type Stretch } from './raw-counts';
import { bucketsOf, coalesceRaw, DAY, floorTo, ROLLUP_LEVELS, type RollupLevel } from './rollup-plan';
import type { StatusCounts } from './status-counts';

/**
 * One bucket of one level. `version` grows each time the bucket's readings may have changed;
 * `counts` were computed after `version` read `countsVersion`. The bucket is clean (its counts
 * can be used) while `dirty` is false, which a refresh sets only if `version` did not move meanwhile.
 *
 * Writers mark only minutes (after the raw insert, before the ack). A refresh recomputes a minute
 * from the raw readings and, before marking it clean, marks its hour and day changed; an hour is
 * recomputed from its minutes and a day from its hours, once those are all clean. A count uses a
 * clean hour or day only if no minute inside it is dirty, reading the dirty minutes first: then
 * any write acknowledged before the count is in what it uses (see `countPlans` in fleet-counts.ts).
 */
export interface RollupBucket {
  _id: Date;
  version: number;
  dirty: boolean;
  /** The UTC day the bucket lies in, set with each mark: what dirty buckets are found by (see `ensureDirtyIndexes`). */
  day?: Date;
  counts?: StatusCounts;
  countsVersion?: number;
}

/** A bucket as read for a count: its counts can be used when it is not dirty. */
export type BucketState = Pick<RollupBucket, '_id' | 'dirty' | 'counts'>;

/** One group of `sumClean`: the clean buckets of a step summed (`unclean: null`), or one other bucket alone. */
export type CleanSums = { _id: { step: unknown; unclean: Date | null } } & Record<string, unknown>;

/** The buckets of every level: marking, finding the dirty ones, reading and summing them. */
export interface BucketRepository {
  collection(level: RollupLevel): Collection<RollupBucket>;
  /** Creates the indexes of the dirty buckets of each level. */
  ensureIndexes(): Promise<void>;
  /** Marks the buckets of `times` changed in each of `levels`, in order. */
  markChanged(times: readonly Date[], levels: readonly RollupLevel[]): Promise<void>;
  /** The starts of the dirty buckets of `level` within `stretches`. */
  dirtyIn(level: RollupLevel, stretches: readonly Stretch[], timeoutMs: number): Promise<number[]>;
  /** The oldest `limit` dirty buckets of `level` that ended by `now` (at most), with their versions. */
  endedDirty(level: RollupLevel, now: number, limit: number): Promise<Pick<RollupBucket, '_id' | 'version'>[]>;
  /** Gives the dirty buckets of `level` marked by versions before `day` their day, so that they are found. */
  dateUndated(level: RollupLevel): Promise<void>;
  /** The buckets of `level` that start at `starts` and exist. */
  read(level: RollupLevel, starts: readonly number[], timeoutMs: number): Promise<BucketState[]>;
  /**
   * The buckets of `level` in `stretch` but those at `skip`, grouped by the server: the clean ones
   * summed per step of `stepMs` starting at `phase` (all in one without it), each other one alone.
   */
  sumClean(
    level: RollupLevel,
    stretch: Stretch,
    step: { ms: number; phase: number } | undefined,
    skip: readonly number[],
    timeoutMs: number,
  ): Promise<CleanSums[]>;
}

const NAMESPACE_NOT_FOUND = 26;
const INDEX_NOT_FOUND = 27;
const NOT_IMPLEMENTED = 238;
/** Buckets of an earlier version dated per call. */
const WRITE_BATCH = 10_000;
const SUM_OF_COUNTS = sumsOfStatuses((key) => `$counts.${key}`);

export function createBucketRepository(db: Db): BucketRepository {
  const collections = new Map(ROLLUP_LEVELS.map((level) => [level.name, db.collection<RollupBucket>(level.collection)]));
  const collection = (level: RollupLevel) => collections.get(level.name) as Collection<RollupBucket>;
  return {
    collection,
    ensureIndexes: async () => {
      await Promise.all(ROLLUP_LEVELS.map((level) => ensureDirtyIndexes(collection(level))));
    },
    markChanged: async (times, levels) => {
      for (const level of levels) {
        // In time order, so that writers marking the same buckets lock them in the same order (no deadlock).
        const starts = bucketsOf(times, level).sort((a, b) => a - b);
        const operations: AnyBulkWriteOperation<RollupBucket>[] = starts.map((start) => ({
          updateOne: { filter: { _id: new Date(start) }, update: { $inc: { version: 1 }, $set: { dirty: true, day: new Date(floorTo(start, DAY.ms)) } }, upsert: true },
        }));
        if (operations.length > 0) await upsertAll(collection(level), operations);
      }
    },
    dirtyIn: async (level, stretches, timeoutMs) => {
      if (stretches.length === 0) return [];
      const found = await collection(level).find(dirtyOnDaysOf(stretches), { projection: { _id: 1 }, maxTimeMS: timeoutMs }).toArray();
      const starts = found.map((bucket) => bucket._id.getTime());
      return starts.filter((start) => stretches.some((stretch) => start >= stretch.start && start < stretch.end));
    },
    endedDirty: async (level, now, limit) => {
      const ended = now - level.ms;
      const found = await collection(level)
        .find({ dirty: true, day: { $lte: new Date(ended) } }, { projection: { version: 1 } })
        .sort({ day: 1, _id: 1 })
        .limit(limit)
        .toArray();
      return found.filter((bucket) => bucket._id.getTime() <= ended);
    },
    dateUndated: async (level) => {
      const undated = await collection(level).find({ dirty: true, day: { $exists: false } }, { projection: { _id: 1 } }).limit(WRITE_BATCH).toArray();
      if (undated.length === 0) return;
      await collection(level).bulkWrite(
        undated.map(({ _id }) => ({
          updateOne: { filter: { _id, day: { $exists: false } }, update: { $set: { day: new Date(floorTo(_id.getTime(), DAY.ms)) } } },
        })),
        { ordered: false },
      );
    },
    read: async (level, starts, timeoutMs) => {
      if (starts.length === 0) return [];
      // Gathered by the server into one document: FerretDB hands over one document much faster than
      // hundreds (a month's 720 hours: 3.7 ms instead of 7.6 ms p50 at 10M readings). Several runs
      // by `$in`: DocumentDB scans the collection for an `$or` of `_id` ranges (a day's count took
      // 19 ms that way, 3.6 ms with `$in`); one run by its range (a month's hours: 5.4 vs 7.5 ms).
      const runs = coalesceRaw(starts.map((start) => ({ start, end: start + level.ms })));
      const match = runs.length === 1 ? startsWithin(runs) : { _id: { $in: starts.map((start) => new Date(start)) } };
      const [all] = await collection(level)
        .aggregate<{ buckets: BucketState[] }>(
          [{ $match: match }, { $group: { _id: null, buckets: { $push: { _id: '$_id', dirty: '$dirty', counts: '$counts' } } } }],
          { maxTimeMS: timeoutMs },
        )
        .toArray();
      return all?.buckets ?? [];
    },
    sumClean: (level, { start, end }, step, skip, timeoutMs) =>
      collection(level)
        .aggregate<CleanSums>(
          [
            {
              $match: {
                _id: { $gte: new Date(start), $lt: new Date(end), ...(skip.length > 0 ? { $nin: skip.map((at) => new Date(at)) } : {}) },
              },
            },
            {
              $group: {
                _id: {
                  step: step === undefined ? null : bucketExpression(step.ms, '$_id', step.phase),
                  unclean: { $cond: [{ $eq: ['$dirty', false] }, null, '$_id'] },
                },
                ...SUM_OF_COUNTS,
              },
            },
          ],
          { maxTimeMS: timeoutMs, promoteLongs: true },
        )
        .toArray(),
  };
}

/**
 * A filter on the dirty buckets of the days that `stretches` touch, by day alone (`dirty_by_day`):
 * with `_id` in it too, PostgreSQL ANDs in a scan of the primary key over the whole range (a year
 * of minutes: 525,600 entries), where the dirty buckets of those days are a handful.
 */
export function dirtyOnDaysOf(stretches: readonly Stretch[]) {
  const first = floorTo(Math.min(...stretches.map(({ start }) => start)), DAY.ms);
  return { dirty: true, day: { $gte: new Date(first), $lt: new Date(Math.max(...stretches.map(({ end }) => end))) } };
}

/** A filter on bucket starts (`_id`) within any of `stretches`. */
export function startsWithin(stretches: readonly Stretch[]) {
  const within = stretches.map(({ start, end }) => ({ _id: { $gte: new Date(start), $lt: new Date(end) } }));
  return within.length === 1 ? (within[0] as (typeof within)[number]) : { $or: within };
}

/**
 * Indexes the dirty buckets only, by day (`dirty_by_day`, `{day: 1}`), so that looking for them (a
 * count, for the dirty minutes under its hours and days; the refresher, for the oldest) costs what
 * there is to find. Keyed by day because DocumentDB (like PostgreSQL's GIN) never removes a key
 * from an index once it held one, only the entries under it: the earlier `dirty_buckets`
 * (`{_id: 1, dirty: 1}`, partial) kept a key for every bucket ever dirty, and a look over a month
 * walked 43,200 empty minute keys, 8.5 ms with none dirty once a month of minutes had gone dirty
 * and clean (vacuumed), against 1.0 ms by day; sorted by `_id`, the refresher's look scanned every
 * bucket since the first (60 ms at a month). Indexes of earlier versions are dropped.
 */
async function ensureDirtyIndexes(buckets: Collection<RollupBucket>): Promise<void> {
  for (const earlier of ['dirty', 'dirty_buckets']) {
    await buckets.dropIndex(earlier).catch((error: unknown) => {
      // Dropped already, or no collection yet.
      if (!(error instanceof MongoServerError && (error.code === INDEX_NOT_FOUND || error.code === NAMESPACE_NOT_FOUND))) throw error;
    });
  }
  await buckets.createIndex({ day: 1 }, { name: 'dirty_by_day', partialFilterExpression: { dirty: true } }).catch((error: unknown) => {
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

/** Upserts that lose a race to create the same document fail with a duplicate key: they then match it, once retried. */
export async function upsertAll<T extends { _id: unknown }>(collection: Collection<T>, operations: AnyBulkWriteOperation<T>[]) {
  const failed = await duplicateKeyFailures(collection, operations);
  if (failed.length > 0) await collection.bulkWrite(failed, { ordered: false });
}

/**
 * Runs `operations` unordered and gives back those that failed with a duplicate key (an upsert whose
 * filter matched nothing while its `_id` exists); any other failure is thrown.
 */
export async function duplicateKeyFailures<T extends { _id: unknown }>(
  collection: Collection<T>,
  operations: AnyBulkWriteOperation<T>[],
): Promise<AnyBulkWriteOperation<T>[]> {
  const failed = await duplicateKeyIndexes(collection.bulkWrite(operations, { ordered: false }));
  return failed.map((index) => operations[index] as AnyBulkWriteOperation<T>);
}

/**
 * The indexes of the operations of an unordered bulk `write` that failed with a duplicate key (none
 * when it succeeded); a failure of any other kind is thrown.
 */
export async function duplicateKeyIndexes(write: Promise<unknown>): Promise<number[]> {
  try {
    await write;
    return [];
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error;
    const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    if (errors.length === 0 || errors.some((e) => e.code !== DUPLICATE_KEY)) throw error;
    return errors.map((e) => e.index);
  }
}
