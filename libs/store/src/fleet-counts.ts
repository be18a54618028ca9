import type { StatusEvent } from '@tally/contract';
import type { Collection } from 'mongodb';
import { forEachLimited } from './concurrency';
import { chunksOf, countPerBucket, countsOfSums, type Stretch } from './raw-counts';
import type { BucketRepository } from './rollup-buckets';
import type { ExpiryMark } from './raw-expiry';
import type { Coverage } from './rollup-coverage';
import {
  ceilTo,
  coalesceRaw,
  DAY,
  expiryProblem,
  floorTo,
  MINUTE,
  planByBoundaries,
  planRange,
  ROLLUP_LEVELS,
  type RollupLevel,
  type Segment,
} from './rollup-plan';
import { pointFinder, shapePoints, shapeRange, type GridPiece, type SeriesShape } from './series-calendar';
import { addCounts, countByStatus, subtractCounts, zeroCounts, type StatusCounts, type TimeRange } from './status-counts';

export interface RollupOptions {
  /** Bounds every server call of a count (`maxTimeMS`). */
  timeoutMs: number;
}

/** A count per step of a series, each step clipped to the range. */
export type SeriesPoint = { start: Date; counts: StatusCounts };

/** Cells of `ms` that start at `phase` plus multiples of `ms` since 1970. */
type Cells = { ms: number; phase: number };

/**
 * A grid piece as the rollups answer it: its whole cells from the buckets of the coarsest level
 * that fits them (summed per cell by the server), none when no level is finer than a cell.
 */
function wholeCellsOf(piece: GridPiece): (Stretch & { level: RollupLevel }) | undefined {
  const level = [...ROLLUP_LEVELS].reverse().find((l) => piece.cellMs % l.ms === 0 && piece.phase % l.ms === 0);
  const start = ceilTo(piece.start - piece.phase, piece.cellMs) + piece.phase;
  const end = floorTo(piece.end - piece.phase, piece.cellMs) + piece.phase;
  return level && level.ms < piece.cellMs && start < end ? { start, end, level } : undefined;
}

/**
 * What a piece leaves to plan beside its whole cells, each within one point: less than a cell
 * either side of them, or without them the points within the piece.
 */
function fragmentsOf(piece: GridPiece, whole: Stretch | undefined, points: readonly TimeRange[]): TimeRange[] {
  const stretches = whole
    ? [
        { start: piece.start, end: whole.start },
        { start: whole.end, end: piece.end },
      ]
    : points.map((point) => ({ start: Math.max(point.start.getTime(), piece.start), end: Math.min(point.end.getTime(), piece.end) }));
  return stretches.filter(({ start, end }) => start < end).map(({ start, end }) => ({ start: new Date(start), end: new Date(end) }));
}

/** How many buckets the plans of `ranges` read (raw stretches count as one), planned one at a time (a series' plans are not all held). */
function bucketsToRead(ranges: Iterable<TimeRange>): number {
  let buckets = 0;
  for (const range of ranges) buckets += planRange(range).length;
  return buckets;
}

/** The whole fleet's counts: clean rollup buckets where they hold every reading, the raw readings elsewhere. */
export interface FleetCounts {
  count(range: TimeRange, options: RollupOptions): Promise<StatusCounts>;
  /** The counts of each point of `shape`. */
  series(shape: SeriesShape, options: RollupOptions): Promise<SeriesPoint[]>;
}

/** Longest range planned bucket by bucket (about 55 years of days); a longer one has its whole days summed by the server. */
const MAX_PLANNED_DAYS = 20_000;
/** Raw counts (dirty buckets, the ends of a range) run at most this many at once. */
export const RAW_CONCURRENCY = 4;

export function createFleetCounts(
  buckets: BucketRepository,
  raw: Collection<StatusEvent>,
  coverage: Coverage,
  expiryMark: () => Promise<ExpiryMark>,
): FleetCounts {
  /** Throws when raw readings that expired would be needed (read fresh: the mark only moves forward). */
  const checkExpiry = (reach: number, stretches: { raw: readonly Stretch[]; dirty?: readonly Stretch[] }) => {
    const problem = expiryProblem(stretches, reach, MINUTE);
    if (problem) throw problem;
  };

  /**
   * The counts of each plan (a list of segments): clean buckets from the rollups, fetched with one
   * query per level for all plans, and everything else from the raw readings.
   */
  const countPlans = async (plans: readonly Segment[][], { timeoutMs }: RollupOptions): Promise<StatusCounts[]> => {
    const from = (await coverage.cached('coverage')).getTime();
    // Read beside the first reads, not before them: a raw stretch the mark then rules out was read
    // for nothing, but never counted (the checks below throw before the totals are returned).
    const marked = expiryMark();
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
    const [{ reach }] = await Promise.all([
      marked,
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
    checkExpiry(reach, { raw: known.flat(), dirty: dirty.flat() });
    await countRaw(dirty);
    return totals;
  };

  /**
   * The counts of `[start, end)`, whole buckets of `level`, per cell of `cell.ms` starting at
   * `cell.phase` (a multiple of the level's both), by cell start; or all in one, under `start`,
   * without `cell`. The server sums the clean buckets, one group per cell, instead of handing over
   * every bucket (a series of 1,500 quarter hours read 22,500 minutes); the rest is counted raw. As
   * in `countPlans`, a coarser bucket counts only if no minute under it was dirty, read before it.
   */
  const countWhole = async (level: RollupLevel, stretch: Stretch, cell: Cells | undefined, timeoutMs: number) => {
    const marked = expiryMark();
    marked.catch(() => undefined); // awaited below: a failed read before that must not leave its failure unhandled
    const cellOf = (time: number) => (cell === undefined ? stretch.start : floorTo(time - cell.phase, cell.ms) + cell.phase);
    const perCell = new Map<number, StatusCounts>();
    const add = (time: number, counts: StatusCounts) => {
      const at = cellOf(time);
      perCell.set(at, addCounts(perCell.get(at) ?? zeroCounts(), counts));
    };
    const tainted =
      level === MINUTE ? [] : [...new Set((await buckets.dirtyIn(MINUTE, [stretch], timeoutMs)).map((minute) => floorTo(minute, level.ms)))];
    const notClean = [...tainted];
    for (const group of await buckets.sumClean(level, stretch, cell, tainted, timeoutMs)) {
      if (group._id.unclean === null) add(Number(group._id.step ?? stretch.start), countsOfSums(group));
      else notClean.push(group._id.unclean.getTime());
    }
    const runs = coalesceRaw(notClean.map((start) => ({ start, end: start + level.ms })));
    checkExpiry((await marked).reach, { raw: [], dirty: runs });
    await forEachLimited(chunksOf(runs), RAW_CONCURRENCY, async (chunk) => {
      // Grouped per cell by each reading's time, as a run may span two cells.
      for (const [start, counts] of await countPerBucket(raw, chunk, cell?.ms ?? level.ms, timeoutMs, undefined, cell?.phase)) add(start, counts);
    });
    return perCell;
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
      checkExpiry((await expiryMark()).reach, { raw: [{ start: days.start, end: covered }] });
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
    series: async (shape, options) => {
      const totals = shape.starts.map(() => zeroCounts());
      const pointOf = pointFinder(shape.starts);
      const add = (at: number, counts: StatusCounts) => addCounts(totals[pointOf(at)] as StatusCounts, counts);
      const points = shapePoints(shape);
      const range = shapeRange(shape);
      if ((await coverage.cached('coverage')) > range.start) {
        checkExpiry((await expiryMark()).reach, { raw: [{ start: range.start.getTime(), end: range.end.getTime() }] });
        // Not (all) in the rollups yet: one grouped aggregate per stretch of constant offset, rather than one per point.
        await forEachLimited(shape.pieces, RAW_CONCURRENCY, async (piece) => {
          for (const [cell, counts] of await countPerBucket(raw, [piece], piece.cellMs, options.timeoutMs, undefined, piece.phase)) {
            add(Math.max(cell, piece.start), counts);
          }
        });
      } else {
        // The plan that reads the fewest buckets: every point planned as any range (a month: its ends
        // in hours, its days whole); points of local days and longer as UTC days and the hours between
        // (planByBoundaries); or the whole cells of each stretch of constant offset summed by the
        // server (quarter hours of minutes), the rest planned. A step of one bucket: every point
        // planned, which reads them faster than the server sums them. Costs first, then only the
        // plans chosen are built: a burst of 1,500-point series holds no more than it needs.
        const wholes = shape.pieces.map(wholeCellsOf);
        const daysLong = shape.end - (shape.starts[0] as number) >= (shape.starts.length * DAY.ms) / 2;
        const byBoundaries = daysLong ? planByBoundaries(shape.starts, shape.end, DAY.ms) : undefined;
        // Points shorter than half a day on a grid of whole cells read as many buckets either way: the grid, uncounted.
        const costs = {
          planned: byBoundaries || !wholes.some(Boolean) ? bucketsToRead(points) : Infinity,
          boundaries: byBoundaries ? bucketsToRead([...byBoundaries.wholes, ...byBoundaries.stretches.map(({ range }) => range)]) : Infinity,
          grid: !wholes.some(Boolean)
            ? Infinity
            : !byBoundaries
              ? 0
              : shape.pieces.reduce((sum, piece, i) => {
                  const whole = wholes[i];
                  return sum + (whole ? (whole.end - whole.start) / whole.level.ms : 0) + bucketsToRead(fragmentsOf(piece, whole, points));
                }, 0),
        };
        if (costs.grid <= Math.min(costs.planned, costs.boundaries)) {
          const fragments = shape.pieces.flatMap((piece, i) => fragmentsOf(piece, wholes[i], points));
          await Promise.all([
            ...shape.pieces.map(async (piece, i) => {
              const whole = wholes[i];
              if (!whole) return;
              for (const [cell, counts] of await countWhole(whole.level, whole, { ms: piece.cellMs, phase: piece.phase }, options.timeoutMs)) add(cell, counts);
            }),
            countPlans(
              fragments.map((fragment) => planRange(fragment)),
              options,
            ).then((counts) => counts.forEach((count, i) => add((fragments[i] as TimeRange).start.getTime(), count))),
          ]);
        } else if (byBoundaries && costs.boundaries < costs.planned) {
          const ranges = [...byBoundaries.wholes, ...byBoundaries.stretches.map(({ range }) => range)];
          const counts = await countPlans(
            ranges.map((range) => planRange(range)),
            options,
          );
          const stretch = (i: number) => counts[points.length + i] as StatusCounts;
          points.forEach((_, i) => {
            const { sign } = byBoundaries.stretches[i] as { sign: 1 | -1 };
            const next = byBoundaries.stretches[i + 1] as { sign: 1 | -1 };
            const total = totals[i] as StatusCounts;
            addCounts(total, counts[i] as StatusCounts);
            (sign === 1 ? addCounts : subtractCounts)(total, stretch(i));
            (next.sign === 1 ? subtractCounts : addCounts)(total, stretch(i + 1));
          });
        } else {
          (
            await countPlans(
              points.map((point) => planRange(point)),
              options,
            )
          ).forEach((counts, i) => addCounts(totals[i] as StatusCounts, counts));
        }
      }
      return points.map((point, i) => ({ start: point.start, counts: totals[i] ?? zeroCounts() }));
    },
  };
}
