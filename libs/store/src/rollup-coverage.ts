import type { StatusEvent } from '@tally/contract';
import type { Collection, Db, Document } from 'mongodb';
import { DEVICE_DAYS_COLLECTION } from './device-rollups';
import { ceilTo, coverageAfterRebuild, DAY } from './rollup-plan';
import { ignoreDuplicateKey } from './errors';

/**
 * Where rollups hold every reading: buckets starting before `from` are counted from the raw
 * readings. `coverage` is the fleet's (the bucket counts); `device-coverage` the devices' (the hour
 * slots of device-rollups.ts), which began later on a database that had readings before them;
 * `directory-days` where the devices' day totals (`status_device_totals`) hold every day (days
 * before it are summed from the device-day documents).
 */
interface CoverageDocument {
  _id: CoverageKind;
  from: Date;
}
export const COVERAGE_KINDS = ['coverage', 'device-coverage', 'directory-days'] as const;
export type CoverageKind = (typeof COVERAGE_KINDS)[number];

export const ROLLUP_META_COLLECTION = 'status_rollups_meta';
/** Far enough back for any reading a JavaScript date can hold. */
export const EVERYTHING = new Date(-8.64e15);
/** Coverage before `ensure()` ever ran on this database: readings may predate rollups, so none is used. */
export const NOTHING = new Date(8.64e15);
/** How long counts use a coverage read before reading it again. */
const COVERAGE_CACHE_MS = 5000;

export interface Coverage {
  /**
   * Records where each kind starts, on first use: from the beginning on a database without
   * readings that it would lack, else from the next whole day after now and after the
   * latest reading it lacks, until a rebuild goes back.
   */
  ensure(): Promise<void>;
  /** Where `kind` starts, read now. */
  read(kind: CoverageKind): Promise<Date>;
  /**
   * Where `kind` starts, read at most a few seconds ago: coverage only ever moves back in time, so
   * a cached value is at worst too cautious (more raw counting).
   */
  cached(kind: CoverageKind): Promise<Date>;
  /** Moves every kind back over a rebuild of the days `[start, end)` where `coverageAfterRebuild` allows. */
  extendOver(rebuilt: { start: number; end: number }, before: Record<CoverageKind, number>): Promise<void>;
}

const plus = (at: number | undefined, ms: number) => (at === undefined ? undefined : at + ms);

export function createCoverage(db: Db, raw: Collection<StatusEvent>): Coverage {
  const meta = db.collection<CoverageDocument>(ROLLUP_META_COLLECTION);
  const read = async (kind: CoverageKind) => (await meta.findOne({ _id: kind }))?.from ?? NOTHING;
  const cache = new Map<CoverageKind, { from: Date; at: number }>();
  const latest = async (collection: Collection<Document>, filter: Document, field: 'ts' | 'day') =>
    ((await collection.findOne(filter, { projection: { [field]: 1 }, sort: { [field]: -1 } }))?.[field] as Date | undefined)?.getTime();
  const [readings, deviceDays] = [db.collection(raw.collectionName), db.collection(DEVICE_DAYS_COLLECTION)];
  // Where what each kind lacks ends, in a database that has readings from before it existed (the
  // latest of them may lie ahead of now: readings up to 6 h ahead are taken); `undefined`: none.
  const predating: Record<CoverageKind, () => Promise<number | undefined>> = {
    coverage: async () => plus(await latest(readings, {}, 'ts'), 1),
    'device-coverage': async () => plus(await latest(readings, { device: { $gt: '' } }, 'ts'), 1),
    'directory-days': async () => plus(await latest(deviceDays, {}, 'day'), DAY.ms),
  };
  return {
    ensure: async () => {
      for (const kind of COVERAGE_KINDS) {
        if (await meta.findOne({ _id: kind })) continue;
        // From the next whole day on, and after the last reading that has no rollups.
        const lacking = await predating[kind]();
        const from = lacking === undefined ? EVERYTHING : new Date(ceilTo(Math.max(Date.now(), lacking), DAY.ms));
        await meta.updateOne({ _id: kind }, { $setOnInsert: { from } }, { upsert: true }).catch(ignoreDuplicateKey);
      }
    },
    read,
    cached: async (kind) => {
      const hit = cache.get(kind);
      if (hit && Date.now() - hit.at < COVERAGE_CACHE_MS) return hit.from;
      const from = await read(kind);
      cache.set(kind, { from, at: Date.now() });
      return from;
    },
    extendOver: async (rebuilt, before) => {
      for (const kind of COVERAGE_KINDS) {
        const from = coverageAfterRebuild(before[kind], rebuilt);
        if (from < before[kind]) await meta.updateOne({ _id: kind }, { $min: { from: new Date(from) } }, { upsert: true });
      }
    },
  };
}
