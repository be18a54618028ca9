import type { StatusEvent } from '@tally/contract';
import type { Collection, Db } from 'mongodb';
import { createDeviceCounts, type DeviceCounts } from './device-counts';
import { createDeviceRollups } from './device-rollups';
import { withinTimeout } from './errors';
import { createFleetCounts, type FleetCounts } from './fleet-counts';
import { createBucketRepository } from './rollup-buckets';
import { createCoverage } from './rollup-coverage';
import { rebuildRollups, type RebuildOptions } from './rollup-rebuild';
import { createRawExpiry, type ExpiryMark, type ExpiryOptions, type ExpiryResult } from './raw-expiry';
import { createFolder } from './rollup-fold';
import { createRefresher, type RefreshResult } from './rollup-refresh';
import { MINUTE } from './rollup-plan';
import type { TimeRange } from './status-counts';

/**
 * Counts per status per UTC minute, hour and day, kept exact as readings are written, and per
 * device per hour. The parts, each in its file:
 * - rollup-buckets.ts: the buckets of each level, their versions and dirty marks;
 * - rollup-plan.ts, device-plan.ts: which buckets and raw stretches answer a range (pure);
 * - rollup-refresh.ts: recomputing dirty buckets, and the devices' hour slots with them;
 * - fleet-counts.ts, device-counts.ts: answering counts and series from those;
 * - rollup-coverage.ts, rollup-rebuild.ts: where rollups hold every reading, and going back;
 * - raw-expiry.ts, rollup-fold.ts: deleting old raw readings (RAW_RETENTION), and late readings
 *   into what expired added to the rollups instead of recomputed.
 */
export interface Rollups extends FleetCounts {
  /** Creates the collections' indexes and, on first use, where the rollups start to hold every reading. */
  ensure(): Promise<void>;
  /** Marks the buckets of these readings as changed: call after their raw insert, before acknowledging. */
  markChanged(times: readonly Date[]): Promise<void>;
  /**
   * Recomputes up to `limit` dirty buckets per level that ended before `now`, from the raw
   * readings. A call while this store's previous refresh still runs waits for that one instead.
   */
  refresh(options?: RefreshOptions): Promise<RefreshResult>;
  /**
   * Recomputes the buckets of the days of `[start, end)` from the raw readings, newest first, and
   * moves coverage back over each day done if the days rebuilt reach where coverage starts.
   */
  rebuild(range: TimeRange, options?: RebuildOptions): Promise<void>;
  /** The time from which the rollups hold every reading. */
  coverage(): Promise<Date>;
  /** Deletes the raw readings of the oldest hour older than `olderThan`, once the rollups hold them (raw-expiry.ts). */
  expireRaw(options: ExpiryOptions): Promise<ExpiryResult>;
  /** Where raw readings expired. */
  expiryMark(): Promise<ExpiryMark>;
  /** Counts per device. */
  devices: DeviceCounts;
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

export function createRollups(db: Db, raw: Collection<StatusEvent>): Rollups {
  const buckets = createBucketRepository(db);
  const coverage = createCoverage(db, raw);
  const deviceRollups = createDeviceRollups(db);
  const expiry = createRawExpiry(db, raw, buckets, coverage);
  const refreshOnce = createRefresher(buckets, raw, deviceRollups, { mark: expiry.mark, fold: createFolder(buckets, raw, deviceRollups) });
  // One refresh at a time per store: a call while one runs (one that timed out for its caller
  // still runs on) waits for that one rather than start the same work again beside it.
  let running: Promise<RefreshResult> | undefined;
  const refresh = (now: Date, limit: number) => {
    running ??= refreshOnce(now, limit).finally(() => {
      running = undefined;
    });
    return running;
  };
  return {
    ...createFleetCounts(buckets, raw, coverage, expiry.mark),
    devices: createDeviceCounts(buckets, raw, coverage, deviceRollups, expiry.mark),
    ensure: async () => {
      await buckets.ensureIndexes();
      await deviceRollups.ensureIndexes();
      await coverage.ensure();
    },
    markChanged: (times) => buckets.markChanged(times, [MINUTE]),
    refresh: ({ now = new Date(), limit = 500, timeoutMs } = {}) =>
      timeoutMs === undefined ? refresh(now, limit) : withinTimeout(refresh(now, limit), timeoutMs, 'The rollup refresh'),
    rebuild: (range, options) => rebuildRollups({ buckets, raw, coverage, refresh: refreshOnce, mark: expiry.mark }, range, options),
    coverage: () => coverage.read('coverage'),
    expireRaw: expiry.expireStep,
    expiryMark: expiry.mark,
  };
}

export type { RebuildOptions } from './rollup-rebuild';
export type { RefreshResult } from './rollup-refresh';
export type { RollupBucket } from './rollup-buckets';
export type { ExpiryMark, ExpiryOptions, ExpiryResult } from './raw-expiry';
export type { RollupOptions } from './fleet-counts';
export { ROLLUP_META_COLLECTION } from './rollup-coverage';
