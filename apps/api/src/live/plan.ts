/**
 * Which points of a watched series a batch of announced changes touches: pure arithmetic over the
 * series' shape (its points in its time zone, cut as the store's series cuts them), shared by
 * every connection that watches the same series, so that each changed point is read once per tick.
 */
import type { ChangedMinute } from '@tally/messaging';
import { pointIndexOf, shapeRange, stepAt, type SeriesShape, type SeriesStep, type TimeRange, type TimeZone } from '@tally/store';

const MINUTE_MS = 60_000;

/** A series some connections watch: its points now, and whose readings it counts. */
export interface Watch {
  shape: SeriesShape;
  /** These devices together; `undefined`: the whole fleet. */
  devices?: readonly string[] | undefined;
}

/**
 * `[end - window, end)` where `end` is where the step after the one `now` falls in begins, in
 * `zone` (the next local midnight for `1d`, the next first of the month for `1mo`): a range that
 * holds the newest readings, and moves on when the next step begins. Its start is not snapped to
 * a step: where it falls within one (a day of 23 or 25 hours in between, months), the first point
 * is clipped to it, as the series clips any range.
 */
export function windowRange(now: number, windowMs: number, step: SeriesStep, zone: TimeZone): TimeRange {
  const { end } = stepAt(now, step, zone);
  return { start: new Date(end.getTime() - windowMs), end };
}

/** The key of whose readings a watch counts: equal for equal device sets, whatever their order. */
export function devicesKey(devices: readonly string[] | undefined): string {
  return devices === undefined ? '*' : [...devices].sort().join(',');
}

/** True when a change of `minute` may change the counts of `devices` (of the whole fleet when absent). */
function concerns(minute: ChangedMinute, devices: ReadonlySet<string> | undefined): boolean {
  if (devices === undefined || minute.devices === undefined) return true;
  return minute.devices.some((device) => devices.has(device));
}

/** The starts of the points of `watch` that `minutes` may have changed. */
export function changedPoints({ shape, devices }: Watch, minutes: readonly ChangedMinute[]): number[] {
  const { starts, end } = shape;
  const start = starts[0] as number;
  const mine = devices && new Set(devices);
  const points = new Set<number>();
  for (const minute of minutes) {
    if (minute.start + MINUTE_MS <= start || minute.start >= end || !concerns(minute, mine)) continue;
    const last = pointIndexOf(starts, Math.min(minute.start + MINUTE_MS, end) - 1);
    for (let i = pointIndexOf(starts, Math.max(minute.start, start)); i <= last; i++) points.add(starts[i] as number);
  }
  return [...points];
}

/**
 * The stretches of `watch` to read again: runs of consecutive changed points, each a whole number
 * of its points (the first and last clipped to the range, as the series clips them). More than
 * `maxSpans` stretches: the whole range, in one read.
 */
export function changedSpans(watch: Watch, minutes: readonly ChangedMinute[], maxSpans = 8): TimeRange[] {
  return spansOf(changedPoints(watch, minutes), watch, maxSpans);
}

/** The starts of the points of `now` that `before` did not hold alike (a window that moved on: its new steps, a first point clipped anew). */
export function newPoints(before: SeriesShape, now: SeriesShape): number[] {
  if (before === now) return [];
  const endOf = (shape: SeriesShape, i: number) => shape.starts[i + 1] ?? shape.end;
  const ends = new Map(before.starts.map((at, i) => [at, endOf(before, i)]));
  return now.starts.filter((at, i) => ends.get(at) !== endOf(now, i));
}

/** The points of `watch` that start at `points` (others dropped: gone from a window that moved on) as runs of consecutive points; past `maxSpans` runs, the whole range. */
export function spansOf(points: readonly number[], { shape }: Watch, maxSpans = 8): TimeRange[] {
  const { starts, end } = shape;
  const indexes = [...new Set(points.filter((at) => at >= (starts[0] as number) && at < end).map((at) => pointIndexOf(starts, at)))].sort((a, b) => a - b);
  const runs: { first: number; last: number }[] = [];
  for (const i of indexes) {
    const run = runs.at(-1);
    if (run && run.last === i - 1) run.last = i;
    else runs.push({ first: i, last: i });
  }
  if (runs.length > maxSpans) return [shapeRange(shape)];
  return runs.map(({ first, last }) => ({ start: new Date(starts[first] as number), end: new Date(starts[last + 1] ?? end) }));
}
