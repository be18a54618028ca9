import { STATUSES, type Status } from '@tally/contract';
import type { Collection, Document } from 'mongodb';

/** A half-open time range `[start, end)`. */
export interface TimeRange {
  start: Date;
  end: Date;
}

/** A status as a key of the counts (JSON object keys are strings): `"0"` … `"6"`. */
export type StatusKey = `${Status}`;
export const STATUS_KEYS: readonly StatusKey[] = STATUSES.map((status) => `${status}` as const);

/** How many readings of each status: every key present, zeros included. */
export type StatusCounts = Record<StatusKey, number>;

/** Not frozen: V8 copies a frozen object's elements thirty times slower. */
const ZERO_COUNTS = Object.fromEntries(STATUS_KEYS.map((key) => [key, 0])) as StatusCounts;

/**
 * Counts of zero for every status. A copy of one template (a series builds one per point: 33 ns
 * each, where building it from its entries took 480).
 */
export function zeroCounts(): StatusCounts {
  return { ...ZERO_COUNTS };
}

/** How many readings `counts` holds, all statuses together (none for no counts). */
export function totalOf(counts: Partial<StatusCounts> | undefined): number {
  return Object.values(counts ?? {}).reduce((sum, n) => sum + n, 0);
}

/**
 * Adds `more` into `counts`, and gives back `counts`. By the statuses' numbers: V8 keeps the keys
 * `"0"` … `"6"` as indexed elements, which a number reaches five times faster than a string does.
 */
export function addCounts(counts: StatusCounts, more: StatusCounts): StatusCounts {
  for (const status of STATUSES) counts[status] += more[status];
  return counts;
}

/**
 * The aggregation that counts readings per status in `[start, end)`. Only `$match` (range on
 * `ts`, served by the `{ts: 1, status: 1}` index on MongoDB) and `$group` with `$sum`: stages
 * that MongoDB and FerretDB v1 both run.
 */
export function buildStatusCountPipeline(...ranges: [TimeRange, ...TimeRange[]]): Document[] {
  const within = ranges.map(({ start, end }) => ({ ts: { $gte: start, $lt: end } }));
  // Several ranges: one $or, which both engines serve with one scan per range of the index.
  return [{ $match: within.length === 1 ? within[0] : { $or: within } }, { $group: { _id: '$status', count: { $sum: 1 } } }];
}

/** Turns the `$group` output into counts for all seven statuses; other values are ignored. */
export function toStatusCounts(groups: readonly { _id: unknown; count: unknown }[]): StatusCounts {
  const counts = zeroCounts();
  for (const { _id, count } of groups) {
    const key = String(_id);
    if ((STATUS_KEYS as readonly string[]).includes(key) && typeof count === 'number') {
      counts[key as StatusKey] += count;
    }
  }
  return counts;
}

export interface CountOptions {
  /** Server-side limit (`maxTimeMS`); callers bound their own wait (the API races it). */
  timeoutMs: number;
  /** The readings of these devices only; absent: the whole fleet (readings without a device too). */
  devices?: readonly string[];
}

export async function countByStatus<T extends Document>(
  collection: Collection<T>,
  range: TimeRange | readonly TimeRange[],
  { timeoutMs, devices }: CountOptions,
): Promise<StatusCounts> {
  const ranges = Array.isArray(range) ? range : [range as TimeRange];
  const [first, ...rest] = ranges;
  if (!first) return zeroCounts();
  const pipeline = buildStatusCountPipeline(first, ...rest);
  if (devices !== undefined) pipeline[0] = { $match: { device: { $in: [...devices] }, ...pipeline[0]?.$match } };
  const groups = await collection.aggregate<{ _id: unknown; count: unknown }>(pipeline, { maxTimeMS: timeoutMs }).toArray();
  return toStatusCounts(groups);
}

/** Subtracts `less` from `counts` (in place), and returns `counts`. */
export function subtractCounts(counts: StatusCounts, less: StatusCounts): StatusCounts {
  for (const status of STATUSES) counts[status] -= less[status];
  return counts;
}
