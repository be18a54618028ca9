import type { StatusEvent } from '@tally/contract';
import type { Collection } from 'mongodb';
import { minutesWithReadings } from './raw-counts';
import { edgeBucket, readingProbe } from './raw-edges';
import type { BucketRepository } from './rollup-buckets';
import { COVERAGE_KINDS, type Coverage, type CoverageKind } from './rollup-coverage';
import type { ExpiryMark } from './raw-expiry';
import type { RefreshResult } from './rollup-refresh';
import { ceilTo, DAY, floorTo, MINUTE } from './rollup-plan';
import { StoreError } from './errors';
import type { TimeRange } from './status-counts';

export interface RebuildOptions {
  /** Told after each day with readings is rebuilt, newest first (days without readings are skipped). */
  onProgress?: (done: { day: Date; buckets: number }) => void;
  signal?: AbortSignal;
}

/**
 * Recomputes the buckets of the days of `[start, end)` from the raw readings, newest first, and
 * moves coverage back over each day done if the days rebuilt reach where coverage starts.
 */
export async function rebuildRollups(
  { buckets, raw, coverage, refresh, mark }: {
    buckets: BucketRepository;
    raw: Collection<StatusEvent>;
    coverage: Coverage;
    refresh: (now: Date, limit: number) => Promise<RefreshResult>;
    mark: () => Promise<ExpiryMark>;
  },
  { start, end }: TimeRange,
  { onProgress, signal }: RebuildOptions = {},
): Promise<void> {
  const first = floorTo(start.getTime(), DAY.ms);
  // Recomputed from what is left, the buckets of expired days would lose every expired reading.
  const { reach } = await mark();
  if (first < reach) {
    throw new StoreError(
      'raw_expired',
      `Raw readings before ${new Date(reach).toISOString()} have expired (RAW_RETENTION): their rollups cannot be rebuilt; ` +
        `rebuild from ${new Date(ceilTo(reach, DAY.ms)).toISOString()} on`,
    );
  }
  const top = ceilTo(end.getTime(), DAY.ms);
  const before = Object.fromEntries(
    await Promise.all(COVERAGE_KINDS.map(async (kind) => [kind, (await coverage.read(kind)).getTime()] as const)),
  ) as Record<CoverageKind, number>;
  // Only over days rebuilt without a gap down from where coverage starts: a day between that
  // was never rebuilt would then be read from rollups that lack its readings.
  const extendCoverage = (rebuiltFrom: number) => coverage.extendOver({ start: rebuiltFrom, end: top }, before);
  const anyReading = readingProbe(raw);
  for (let at = top; at > first; ) {
    signal?.throwIfAborted();
    // Straight to the newest day below `at` that holds readings: days without any need nothing.
    const day = await edgeBucket(anyReading, { start: first, end: at }, 'last', DAY.ms);
    if (day === undefined) {
      await extendCoverage(first);
      break;
    }
    const chunk = { start: new Date(day), end: new Date(day + DAY.ms) };
    const times = await minutesWithReadings(raw, chunk);
    await buckets.markChanged(times, [MINUTE]);
    // Counts can use the chunk's rollups once its buckets are marked; refreshing them now only
    // saves the raw counts that dirty buckets cost until the processor's refresher gets to them.
    await refresh(chunk.end, Math.max(1000, times.length));
    await extendCoverage(chunk.start.getTime());
    onProgress?.({ day: chunk.start, buckets: times.length });
    at = chunk.start.getTime();
  }
}
