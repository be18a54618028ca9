import type { StatusEvent } from '@tally/contract';
import type { Collection } from 'mongodb';
import { forEachLimited } from './concurrency';
import { chunksOf, countPerBucket, countsOfSums, type Stretch } from './raw-counts';
import type { BucketRepository } from './rollup-buckets';
import type { Coverage } from './rollup-coverage';
import { ceilTo, coalesceRaw, DAY, floorTo, MINUTE, planRange, ROLLUP_LEVELS, seriesPoints, type RollupLevel, type Segment } from './rollup-plan';
import { addCounts, countByStatus, zeroCounts, type StatusCounts, type TimeRange } from './status-counts';

export interface RollupOptions {
  /** Bounds every server call of a count (`maxTimeMS`). */
  timeoutMs: number;
}

/** A count per step of a series, each step clipped to the range. */
export type SeriesPoint = { start: Date; counts: StatusCounts };

/** The whole fleet's counts: clean rollup buckets where they hold every reading, the raw readings elsewhere. */
export interface FleetCounts {
  count(range: TimeRange, options: RollupOptions): Promise<StatusCounts>;
  series(range: TimeRange, stepMs: number, options: RollupOptions): Promise<SeriesPoint[]>;
}

/** Longest range planned bucket by bucket (about 55 years of days); a longer one has its whole days summed by the server. */
const MAX_PLANNED_DAYS = 20_000;
/** Raw counts (dirty buckets, the ends of a range) run at most this many at once. */
export const RAW_CONCURRENCY = 4;

export function createFleetCounts(buckets: BucketRepository, raw: Collection<StatusEvent>, coverage: Coverage): FleetCounts {
  /**
   * The counts of each plan (a list of segments): clean buckets from the rollups, fetched with one
   * query per level for all plans, and everything else from the raw readings.
   */
  const countPlans = async (plans: readonly Segment[][], { timeoutMs }: RollupOptions): Promise<StatusCounts[]> => {
    const from = (await coverage.cached('coverage')).getTime();
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
    const coarse = [...wanted]
      .filter(([level]) => level !== MINUTE)
      .flatMap(([level, byStart]) => [...byStart.keys()].map((start) => ({ start, end: start + level.ms })));
    const dirtyMinutes = buckets.dirtyIn(MINUTE, coalesceRaw(coarse), timeoutMs);
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
        for (const bucket of await buckets.read(level, [...byStart.keys()], timeoutMs)) {
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
      level === MINUTE ? [] : [...new Set((await buckets.dirtyIn(MINUTE, [stretch], timeoutMs)).map((minute) => floorTo(minute, level.ms)))];
    const notClean = [...tainted];
    for (const group of await buckets.sumClean(level, stretch, stepMs, tainted, timeoutMs)) {
      if (group._id.unclean === null) add(Number(group._id.step ?? stretch.start), countsOfSums(group));
      else notClean.push(group._id.unclean.getTime());
    }
    const runs = coalesceRaw(notClean.map((start) => ({ start, end: start + level.ms })));
    await forEachLimited(chunksOf(runs), RAW_CONCURRENCY, async (chunk) => {
      // Grouped per step by each reading's time, as a run may span two steps.
      for (const [start, counts] of await countPerBucket(raw, chunk, stepMs ?? level.ms, timeoutMs)) add(start, counts);
    });
    return perStep;
  };

  return {
    count: async (range, options) => {
      if (range.end.getTime() - range.start.getTime() <= MAX_PLANNED_DAYS * DAY.ms) {
        return (await countPlans([planRange(range)], options))[0] ?? zeroCounts();
      }
      // A range of centuries would plan a bucket per day: its whole days are summed by the server,
      // those before the rollups' coverage counted raw, and its ends (less than a day each) planned.
      const days = { start: ceilTo(range.start.getTime(), DAY.ms), end: floorTo(range.end.getTime(), DAY.ms) };
      const covered = Math.min(days.end, Math.max(days.start, ceilTo((await coverage.cached('coverage')).getTime(), DAY.ms)));
      const ends = [
        { start: range.start, end: new Date(days.start) },
        { start: new Date(days.end), end: range.end },
      ];
      const [planned, before, whole] = await Promise.all([
        countPlans(
          ends.map((end) => planRange(end)),
          options,
        ),
        covered > days.start ? countByStatus(raw, { start: new Date(days.start), end: new Date(covered) }, options) : zeroCounts(),
        countWhole(DAY, { start: covered, end: days.end }, undefined, options.timeoutMs),
      ]);
      return [...planned, ...whole.values()].reduce(addCounts, before);
    },
    series: async (range, stepMs, options) => {
      const points = seriesPoints(range, stepMs);
      if ((await coverage.cached('coverage')) > range.start) {
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
        countPlans(
          clipped.map((point) => planRange(point)),
          options,
        ),
      ]);
      let next = 0;
      return points.map((point) => ({
        start: point.start,
        counts: (isWhole(point) ? perStep.get(point.start.getTime()) : clippedCounts[next++]) ?? zeroCounts(),
      }));
    },
  };
}
