import { loadavg } from 'node:os';
import { fleetDeviceIds, statusEventFor, type Status } from '@tally/contract';
import { createStatusEventStore, type StatusCounts, type StatusEventStore, type TimeRange } from '@tally/store';
import type { BenchContext } from './context';
import { DEFAULT_PARTITIONS, DIRECT_BATCH, measureQueueRun, type DrainResult, type RateResult } from './ingest';
import { startProgress } from './progress';
import { percentiles, perSecond, round, type Percentiles } from './stats';
import { measureStorage, type StorageResult } from './storage';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** The readings span 35 days from here, received when they were taken (long ago: none is guarded). */
const START = Date.parse('2026-01-01T00:00:00Z');
const SPAN_DAYS = 35;
/** Retention deletes the raw readings of the first 31 days: half alone, half while a processor drains. */
const EXPIRED_DAYS = 31;
const HALF = START + Math.round(EXPIRED_DAYS / 2) * DAY_MS;
/** Devices the readings come from. */
const DEVICES = 100;
const options = { timeoutMs: 60_000 };

export interface RetentionResult {
  readings: number;
  /** Readings whose raw copy was deleted (those of the first 31 days). */
  expired: number;
  /** The readings stored through the processor's write path (insert, then rollup marks), batches of 500. */
  insert: RateResult;
  /** Expiry alone over the first half of the expired days; `deleteToInsert` its rate over the insert's. */
  delete: RateResult;
  deleteToInsert: number;
  storage: { before: StorageResult; after: StorageResult };
  /**
   * The processor draining AMQP messages without, then during, expiry of the second half (run by the
   * harness on the same server, as another processor would); absent with `--retention-drain 0`.
   */
  drain?: { without: DrainResult; during: DrainResult; ratio: number; deletedDuring: number; deleteSecondsDuring: number };
  /** 30-day counts from whole minutes in the expired days, after expiry: each equal to what it was before. */
  count: Percentiles & { samples: number };
  /** The machine's load average (1 min) before and after the phase: the machine is shared. */
  load: { before: number; after: number };
}

export interface RetentionOptions {
  retentionReadings: number;
  /** Readings drained by the processor, without and during expiry; 0: none. */
  retentionDrain: number;
  apiSamples: number;
  processorNodeOptions: string;
}

/** Raw readings expired by RAW_RETENTION's steps: what it costs, what it frees, what counts then cost. */
export async function runRetention(context: BenchContext, opts: RetentionOptions): Promise<RetentionResult> {
  const loadBefore = loadavg()[0] as number;
  const db = context.mongo.db(`bench_${context.runId}_retention`);
  const dropDatabase = context.cleanup.defer(() => db.dropDatabase());
  try {
    const store = createStatusEventStore({ db, insertTimeoutMs: 600_000 });
    await store.ensureIndexes();
    const insert = await seed(store, opts.retentionReadings);
    while ((await store.rollups.refresh({ now: new Date(START + SPAN_DAYS * DAY_MS + HOUR_MS), limit: 20_000 })).pending > 0);
    const before = await measureStorage(db, opts.retentionReadings);

    const ranges = Array.from({ length: Math.max(5, opts.apiSamples) }, (_, i) => {
      const start = START + Math.floor(((i * 7919) % DAY_MS) / MINUTE_MS) * MINUTE_MS;
      return { start: new Date(start), end: new Date(start + 30 * DAY_MS) };
    });
    const expected = await Promise.all(ranges.map((range) => store.countByStatus(range, options)));
    const expiredReadings = await store.collection.countDocuments({ ts: { $lt: new Date(START + EXPIRED_DAYS * DAY_MS) } });

    const alone = await expireUntil(store, HALF, 'expire the first half alone');
    const fleet = fleetDeviceIds(DEVICES);
    const drainOf = (label: string, onFilled?: () => Promise<void>) =>
      measureQueueRun(context, {
        label,
        transport: 'amqp',
        readings: opts.retentionDrain,
        devices: fleet,
        partitions: DEFAULT_PARTITIONS,
        env: {},
        nodeOptions: opts.processorNodeOptions,
        ...(onFilled && { onFilled }),
      });
    const drain = opts.retentionDrain > 0 ? await drainBesideExpiry(drainOf, store) : undefined;
    if (!drain) await expireUntil(store, START + EXPIRED_DAYS * DAY_MS, 'expire the second half');
    const after = await measureStorage(db, opts.retentionReadings);

    const latencies: number[] = [];
    for (const [i, range] of ranges.entries()) {
      const started = performance.now();
      const counts = await store.countByStatus(range, options);
      latencies.push(performance.now() - started);
      checkSame(counts, expected[i] as StatusCounts, range);
    }
    const left = await store.collection.countDocuments({ ts: { $lt: new Date(START + EXPIRED_DAYS * DAY_MS) } });
    if (left !== 0) throw new Error(`${left} raw readings of the expired days are left`);
    return {
      readings: opts.retentionReadings,
      expired: expiredReadings,
      insert,
      delete: { readings: alone.readings, seconds: alone.seconds, perSecond: alone.perSecond },
      deleteToInsert: round(alone.perSecond / insert.perSecond, 2),
      storage: { before, after },
      ...(drain && { drain }),
      count: { ...roundAll(percentiles(latencies)), samples: latencies.length },
      load: { before: round(loadBefore), after: round(loadavg()[0] as number) },
    };
  } finally {
    await dropDatabase();
  }
}

/** The drain without expiry, then during the expiry of the second half of the expired days. */
async function drainBesideExpiry(drainOf: (label: string, onFilled?: () => Promise<void>) => Promise<{ drain: DrainResult }>, store: StatusEventStore) {
  const without = (await drainOf('retention-without')).drain;
  let second: Promise<RateResult & { end: number }> | undefined;
  const during = (
    await drainOf('retention-during', async () => {
      second = expireUntil(store, START + EXPIRED_DAYS * DAY_MS, 'expire the second half during a drain');
    })
  ).drain;
  const drainEnded = performance.now();
  const rest = await (second as Promise<RateResult & { end: number }>);
  const overlap = Math.min(during.seconds, rest.seconds - Math.max(0, (rest.end - drainEnded) / 1000));
  return {
    without,
    during,
    ratio: round(during.perSecond / without.perSecond, 2),
    deletedDuring: Math.round(rest.readings * Math.min(1, overlap / Math.max(rest.seconds, 1e-9))),
    deleteSecondsDuring: round(overlap),
  };
}

/** Stores `count` readings over the span through the processor's write path, and times it. */
async function seed(store: StatusEventStore, count: number): Promise<RateResult> {
  const devices = fleetDeviceIds(DEVICES);
  const gap = (SPAN_DAYS * DAY_MS) / count;
  const progress = startProgress({ label: 'retention: store the readings', total: count });
  try {
    const started = performance.now();
    for (let i = 0; i < count; i += DIRECT_BATCH) {
      const batch = Array.from({ length: Math.min(DIRECT_BATCH, count - i) }, (_, j) => {
        const n = i + j;
        const ts = new Date(START + Math.floor(n * gap));
        const device = devices[n % devices.length] as string;
        return statusEventFor({ id: `ret-${n}`, status: (n % 7) as Status, ts }, { device, receivedAt: ts });
      });
      await store.insertReadings(batch);
      progress.update(i + batch.length);
    }
    const seconds = (performance.now() - started) / 1000;
    progress.finish(`${perSecond(count, seconds).toLocaleString('en-US')} readings/s`);
    return { readings: count, seconds: round(seconds), perSecond: perSecond(count, seconds) };
  } finally {
    progress.abort();
  }
}

/** Expiry steps until every hour before `olderThan` is expired, timed; `end` is when it ended (performance.now()). */
async function expireUntil(store: StatusEventStore, olderThan: number, label: string): Promise<RateResult & { end: number }> {
  const from = Math.max(START, (await store.rollups.expiryMark()).before);
  const progress = startProgress({ label: `retention: ${label}`, total: (olderThan - from) / HOUR_MS, unit: 'hours' });
  try {
    const started = performance.now();
    let deleted = 0;
    for (;;) {
      const result = await store.rollups.expireRaw({ olderThan, now: olderThan + 30 * DAY_MS, graceMs: 0 });
      if (result.state === 'idle') break;
      if (result.state !== 'expired') throw new Error(`Expiry stopped: ${JSON.stringify(result)}`);
      deleted += result.deleted;
      progress.update((result.end.getTime() - from) / HOUR_MS);
    }
    const end = performance.now();
    const seconds = (end - started) / 1000;
    progress.finish(`${perSecond(deleted, seconds).toLocaleString('en-US')} readings/s`);
    return { readings: deleted, seconds: round(seconds), perSecond: perSecond(deleted, seconds), end };
  } finally {
    progress.abort();
  }
}

function checkSame(counts: StatusCounts, expected: StatusCounts, { start, end }: TimeRange) {
  if (JSON.stringify(counts) !== JSON.stringify(expected)) {
    throw new Error(`After expiry, ${start.toISOString()}..${end.toISOString()} counts ${JSON.stringify(counts)}, before ${JSON.stringify(expected)}`);
  }
}

function roundAll({ p50, p95, p99 }: Percentiles): Percentiles {
  return { p50: round(p50), p95: round(p95), p99: round(p99) };
}
