import { StoreError } from './errors';
import type { TimeRange } from './status-counts';

/** A rollup granularity: counts per status per UTC-aligned bucket of `ms`, in its own collection. */
export interface RollupLevel {
  name: 'minute' | 'hour' | 'day';
  ms: number;
  collection: string;
}

/** Finest first. Each level's buckets are whole multiples of the finer ones, all aligned to UTC. */
export const ROLLUP_LEVELS: readonly RollupLevel[] = [
  { name: 'minute', ms: 60_000, collection: 'status_rollups_minute' },
  { name: 'hour', ms: 3_600_000, collection: 'status_rollups_hour' },
  { name: 'day', ms: 86_400_000, collection: 'status_rollups_day' },
];
export const [MINUTE, HOUR, DAY] = ROLLUP_LEVELS as [RollupLevel, RollupLevel, RollupLevel];

/** One piece of a range: a whole rollup bucket, or a stretch to count from the raw readings. */
export type Segment = { kind: 'bucket'; level: RollupLevel; start: number } | { kind: 'raw'; start: number; end: number };

export function floorTo(time: number, ms: number): number {
  return time - (((time % ms) + ms) % ms);
}

export function ceilTo(time: number, ms: number): number {
  return -floorTo(-time, ms);
}

/**
 * Cuts `[start, end)` into the fewest whole buckets, coarsest first where they fit, and raw
 * stretches for what no bucket covers whole (the ends of a range that is not minute-aligned).
 */
export function planRange({ start, end }: TimeRange, levels: readonly RollupLevel[] = ROLLUP_LEVELS): Segment[] {
  const to = end.getTime();
  const segments: Segment[] = [];
  const coarsestFirst = [...levels].reverse();
  for (let at = start.getTime(); at < to; ) {
    const level = coarsestFirst.find((l) => floorTo(at, l.ms) === at && at + l.ms <= to);
    if (level) {
      segments.push({ kind: 'bucket', level, start: at });
      at += level.ms;
      continue;
    }
    const finest = levels[0]?.ms ?? to - at;
    const next = Math.min(to, floorTo(at, finest) + finest);
    const last = segments.at(-1);
    if (last?.kind === 'raw' && last.end === at) last.end = next;
    else segments.push({ kind: 'raw', start: at, end: next });
    at = next;
  }
  return segments;
}

/** Every bucket of `level` that holds some of `times`, as bucket starts, once each. */
export function bucketsOf(times: readonly Date[], level: RollupLevel): number[] {
  return [...new Set(times.map((time) => floorTo(time.getTime(), level.ms)))];
}

/**
 * Where the rollups hold every reading once `[start, end)` has been rebuilt whole, when they held
 * every reading from `coverage` on: from `start` if the rebuild reached `coverage` (no gap
 * between), else still from `coverage` (what lies between was never rebuilt).
 */
export function coverageAfterRebuild(coverage: number, { start, end }: { start: number; end: number }): number {
  return end >= coverage ? Math.min(coverage, start) : coverage;
}

/** Merges stretches that touch, or lie at most `maxGap` apart, into one, in time order. */
export function coalesceRaw(
  stretches: readonly { start: number; end: number }[],
  maxGap = 0,
): { start: number; end: number }[] {
  const merged: { start: number; end: number }[] = [];
  for (const { start, end } of [...stretches].sort((a, b) => a.start - b.start)) {
    const last = merged.at(-1);
    if (last && last.end + maxGap >= start) last.end = Math.max(last.end, end);
    else merged.push({ start, end });
  }
  return merged;
}

/**
 * Points `[starts[i], starts[i + 1] or end)` as differences of prefix counts, with `C(t)` the count
 * before `t`: each boundary `b` is moved to its nearest bucket start `B` of `ms`, with the stretch
 * between them (`[b, B)`, counted with `sign` 1, or `[B, b)` with -1), so that
 * `point i = count([B_i, B_i+1)) + sign_i · stretch_i − sign_i+1 · stretch_i+1`.
 * A local day in Berlin is then a UTC day and an hour or two either side, not 24 hours.
 */
export interface BoundaryPlan {
  /** Per point, the whole buckets between its moved boundaries (empty when they meet). */
  wholes: TimeRange[];
  /** Per boundary (one more than points): the stretch to its nearest bucket start, and how it counts. */
  stretches: { range: TimeRange; sign: 1 | -1 }[];
}

export function planByBoundaries(starts: readonly number[], end: number, ms: number): BoundaryPlan {
  const boundaries = [...starts, end];
  const moved = boundaries.map((at) => {
    const down = floorTo(at, ms);
    return at - down <= ms / 2 ? down : down + ms;
  });
  return {
    wholes: starts.map((_, i) => ({ start: new Date(moved[i] as number), end: new Date(Math.max(moved[i] as number, moved[i + 1] as number)) })),
    stretches: boundaries.map((at, i) => {
      const to = moved[i] as number;
      return at <= to
        ? { range: { start: new Date(at), end: new Date(to) }, sign: 1 }
        : { range: { start: new Date(to), end: new Date(at) }, sign: -1 };
    }),
  };
}

/**
 * What raw readings that expired before `reach` keep a plan from answering: none (`undefined`);
 * a stretch it would count raw (an edge inside a bucket, or rollups that lack it) that starts before
 * `reach`, which no retry helps (`raw_expired`, naming the alignment that works: whole buckets of
 * `finest`); or a bucket there that is dirty because a late reading is being folded into it
 * (`catching_up`: the refresher cleans it within a round or two).
 */
export function expiryProblem(
  { raw, dirty = [] }: { raw: readonly { start: number; end: number }[]; dirty?: readonly { start: number; end: number }[] },
  reach: number,
  finest: RollupLevel,
): StoreError | undefined {
  const needed = raw.find(({ start, end }) => start < end && start < reach);
  if (needed) {
    const iso = (time: number) => new Date(time).toISOString();
    const edge = floorTo(needed.start, finest.ms) === needed.start ? needed.end : needed.start;
    return new StoreError(
      'raw_expired',
      `Raw readings before ${iso(reach)} have expired (RAW_RETENTION), and ${iso(edge)} needs them: ` +
        `before ${iso(reach)}, give times on whole ${finest.name}s (UTC), e.g. ${iso(floorTo(edge, finest.ms))}`,
    );
  }
  const folding = dirty.find(({ start }) => start < reach);
  if (folding) {
    return new StoreError(
      'catching_up',
      `A late reading before ${new Date(reach).toISOString()} is being added to the rollups (its raw neighbours expired): ask again in a second`,
    );
  }
  return undefined;
}
