import type { StatusEvent } from '@tally/contract';
import type { Collection } from 'mongodb';
import type { Stretch } from './raw-counts';
import { ceilTo, floorTo } from './rollup-plan';

/** Whether any raw reading lies within a stretch. */
export type ReadingProbe = (stretch: Stretch) => Promise<boolean>;

/**
 * One raw reading within the stretch or none: a find without a sort. A find sorted on `ts` would
 * name the oldest or newest reading directly, but DocumentDB does not walk the index in order for
 * it: it sorts every reading of the range first (25 s for the newest of 10M readings on this
 * machine). Its index scans are not lazy either: a probe costs in proportion to the readings in
 * its stretch (18 ms for a day of 27,000 readings, 2 ms for an empty stretch of any length).
 */
export function readingProbe(raw: Collection<StatusEvent>): ReadingProbe {
  return async ({ start, end }) =>
    (await raw.find({ ts: { $gte: new Date(start), $lt: new Date(end) } }, { projection: { _id: 1 } }).limit(1).toArray()).length > 0;
}

/**
 * The start of the first (or last) bucket of `unitMs` (aligned to UTC, as rollup buckets are) in
 * `[start, end)` that holds a reading, or `undefined` when none does: by probes over stretches
 * that double from the edge until one holds a reading, then halve within it. One probe when the
 * bucket at the edge holds readings, about 2·log2(n) for an edge n buckets in; as each probe reads
 * the readings of its stretch (see `readingProbe`), start from an edge near the readings sought.
 */
export async function edgeBucket(
  any: ReadingProbe,
  { start, end }: Stretch,
  edge: 'first' | 'last',
  unitMs: number,
): Promise<number | undefined> {
  const [low, high] = [floorTo(start, unitMs), ceilTo(end, unitMs)];
  if (low >= high) return undefined;
  const holds = (from: number, to: number) => any({ start: Math.max(from, start), end: Math.min(to, end) });
  // Buckets from the edge `width` wide: [near, far) on the side of `edge`, empty beyond `near`.
  let near = edge === 'last' ? high : low;
  let found: [number, number] | undefined;
  for (let width = unitMs; !found; width *= 2) {
    const far = edge === 'last' ? Math.max(low, near - width) : Math.min(high, near + width);
    const [from, to] = edge === 'last' ? [far, near] : [near, far];
    if (await holds(from, to)) found = [from, to];
    else if (far === (edge === 'last' ? low : high)) return undefined;
    else near = far;
  }
  // The edge's bucket is within [from, to): halve, keeping the half on the edge's side that holds one.
  let [from, to] = found;
  while (to - from > unitMs) {
    const middle = from + Math.floor((to - from) / unitMs / 2) * unitMs;
    if (edge === 'last') {
      if (await holds(middle, to)) from = middle;
      else to = middle;
    } else if (await holds(from, middle)) to = middle;
    else from = middle;
  }
  return from;
}
