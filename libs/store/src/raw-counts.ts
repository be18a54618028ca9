import type { StatusEvent } from '@tally/contract';
import type { Collection, Document } from 'mongodb';
import { MINUTE } from './rollup-plan';
import { addCounts, STATUS_KEYS, toStatusCounts, zeroCounts, type StatusCounts, type TimeRange } from './status-counts';

/** A half-open stretch of time `[start, end)` in milliseconds since 1970. */
export type Stretch = { start: number; end: number };

/** Most stretches one raw count takes in its `$or`. */
const RAW_RANGES_PER_QUERY = 100;

/** `stretches` in groups small enough for one raw count each. */
export function chunksOf(stretches: readonly Stretch[]): Stretch[][] {
  return Array.from({ length: Math.ceil(stretches.length / RAW_RANGES_PER_QUERY) }, (_, i) =>
    stretches.slice(i * RAW_RANGES_PER_QUERY, (i + 1) * RAW_RANGES_PER_QUERY),
  );
}

/** Sums of each status's counts, `s0`..`s6`, as `$group` accumulators over the expression `countOf(key)`. */
export function sumsOfStatuses(countOf: (key: string) => unknown): Record<string, { $sum: unknown }> {
  return Object.fromEntries(STATUS_KEYS.map((key) => [`s${key}`, { $sum: countOf(key) }]));
}

/** The counts a `$group` with `sumsOfStatuses` summed. */
export function countsOfSums(group: Record<string, unknown>): StatusCounts {
  const counts = zeroCounts();
  for (const key of STATUS_KEYS) counts[key] = Number(group[`s${key}`] ?? 0);
  return counts;
}

/**
 * `ts` rounded down to the start of its bucket of `ms`, buckets starting at `phase` plus multiples of
 * `ms` since 1970, as milliseconds (before 1970 too). Arithmetic rather than `$dateTrunc`:
 * DocumentDB's `$dateTrunc` to a day answers the wrong day (2026-02-28T10:39Z gave 2026-02-26 on v0.106).
 */
export function bucketExpression(ms: number, field = '$ts', phase = 0) {
  const time = phase === 0 ? { $toLong: field } : { $subtract: [{ $toLong: field }, phase] };
  const floored = { $subtract: [time, { $mod: [{ $add: [{ $mod: [time, ms] }, ms] }, ms] }] };
  return phase === 0 ? floored : { $add: [floored, phase] };
}

/** Readings within any of `stretches`, of `devices` only when given. */
export function readingsWithin(stretches: readonly Stretch[], devices?: readonly string[]): Document {
  const within = stretches.map(({ start, end }) => ({ ts: { $gte: new Date(start), $lt: new Date(end) } }));
  const match: Document = within.length === 1 ? { ...within[0] } : { $or: within };
  return devices === undefined ? match : { device: { $in: [...devices] }, ...match };
}

/**
 * The counts of every bucket of `bucketMs` (starting at `phase` plus multiples of it) within
 * `stretches` that holds readings (of `devices` only, when given), by bucket start.
 */
export async function countPerBucket(
  raw: Collection<StatusEvent>,
  stretches: readonly Stretch[],
  bucketMs: number,
  timeoutMs = 60_000,
  devices?: readonly string[],
  phase = 0,
): Promise<Map<number, StatusCounts>> {
  if (stretches.length === 0) return new Map();
  const groups = await raw
    .aggregate<{ _id: { bucket: unknown; status: unknown }; count: number }>(
      [
        { $match: readingsWithin(stretches, devices) },
        { $group: { _id: { bucket: bucketExpression(bucketMs, '$ts', phase), status: '$status' }, count: { $sum: 1 } } },
      ],
      { maxTimeMS: timeoutMs, promoteLongs: true },
    )
    .toArray();
  const perBucket = new Map<number, StatusCounts>();
  for (const { _id, count } of groups) {
    const key = Number(_id.bucket);
    perBucket.set(key, addCounts(perBucket.get(key) ?? zeroCounts(), toStatusCounts([{ _id: _id.status, count }])));
  }
  return perBucket;
}

/**
 * The counts of each device within `stretch`, per UTC-aligned bucket of `bucketMs`: bucket start →
 * device → counts. Readings without a device are left out (they count in the fleet's totals only).
 */
export async function countPerDeviceBucket(
  raw: Collection<StatusEvent>,
  stretches: readonly Stretch[],
  bucketMs: number,
  { timeoutMs = 60_000, devices }: { timeoutMs?: number; devices?: readonly string[] } = {},
): Promise<Map<number, Map<string, StatusCounts>>> {
  const perBucket = new Map<number, Map<string, StatusCounts>>();
  if (stretches.length === 0) return perBucket;
  const groups = await raw
    .aggregate<{ _id: { bucket: unknown; device: unknown; status: unknown }; count: number }>(
      [
        { $match: readingsWithin(stretches, devices) },
        { $group: { _id: { bucket: bucketExpression(bucketMs), device: '$device', status: '$status' }, count: { $sum: 1 } } },
      ],
      { maxTimeMS: timeoutMs, promoteLongs: true },
    )
    .toArray();
  for (const { _id, count } of groups) {
    if (typeof _id.device !== 'string') continue;
    const bucket = Number(_id.bucket);
    const devicesOfBucket = perBucket.get(bucket) ?? new Map<string, StatusCounts>();
    perBucket.set(bucket, devicesOfBucket);
    devicesOfBucket.set(_id.device, addCounts(devicesOfBucket.get(_id.device) ?? zeroCounts(), toStatusCounts([{ _id: _id.status, count }])));
  }
  return perBucket;
}

/** The start of every minute in `range` that holds a reading, one date each. */
export async function minutesWithReadings(raw: Collection<StatusEvent>, range: TimeRange): Promise<Date[]> {
  const buckets = await countPerBucket(raw, [{ start: range.start.getTime(), end: range.end.getTime() }], MINUTE.ms);
  return [...buckets.keys()].map((start) => new Date(start));
}

/** The counts of each device within `stretches` (of `devices` only, when given); readings without a device left out. */
export async function countPerDevice(
  raw: Collection<StatusEvent>,
  stretches: readonly Stretch[],
  { timeoutMs, devices }: { timeoutMs: number; devices?: readonly string[] },
): Promise<Map<string, StatusCounts>> {
  const perDevice = new Map<string, StatusCounts>();
  if (stretches.length === 0) return perDevice;
  const groups = await raw
    .aggregate<{ _id: { device: unknown; status: unknown }; count: number }>(
      [{ $match: readingsWithin(stretches, devices) }, { $group: { _id: { device: '$device', status: '$status' }, count: { $sum: 1 } } }],
      { maxTimeMS: timeoutMs, promoteLongs: true },
    )
    .toArray();
  for (const { _id, count } of groups) {
    if (typeof _id.device !== 'string') continue;
    perDevice.set(_id.device, addCounts(perDevice.get(_id.device) ?? zeroCounts(), toStatusCounts([{ _id: _id.status, count }])));
  }
  return perDevice;
}
