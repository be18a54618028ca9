import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMongoServer, startLocalMongo } from '@tally/devstack';
import { createStatusEventStore, STATUS_KEYS, zeroCounts, type StatusCounts, type StatusEventStore } from '@tally/store';
import { MongoClient } from 'mongodb';
import type { BenchContext } from './context';
import { startProgress } from './progress';
import { DAY_MS, QUERY_START as START, RANGES, SPAN_DAYS } from './questions';
import { percentiles, perSecond, round, type Percentiles } from './stats';

const INSERT_BATCH = 1000;
/** Longest a count may take on the server: the 30-day range counts every reading. */
const COUNT_TIMEOUT_MS = 600_000;

/** The query phase's ranges, over readings spread the same way. */
export const ENGINE_RANGES = RANGES;

/** The DocumentDB index settings compared; `documentdb.defaultUseCompositeOpClass` is experimental upstream. */
export const ENGINE_SETTINGS = [
  { setting: 'DocumentDB defaults', compositeIndexes: false },
  { setting: 'defaultUseCompositeOpClass = true (the devstack)', compositeIndexes: true },
] as const;

export interface EngineRange extends Percentiles {
  name: string;
  ms: number;
  latenciesMs: number[];
}

export interface EngineVariant {
  setting: string;
  compositeIndexes: boolean;
  /** Seconds to insert every reading, and readings/s. */
  insertSeconds: number;
  insertsPerSecond: number;
  ranges: EngineRange[];
  /** Every count equalled the harness's own count of the readings it inserted (else the phase fails). */
  exact: true;
}

export type EngineResult =
  | { readings: number; spanDays: number; samples: number; variants: EngineVariant[] }
  | { skipped: string };

export interface EngineOptions {
  engineReadings: number;
  samples: number;
}

/**
 * The same readings inserted into a private FerretDB + DocumentDB engine under each index setting,
 * then counted over random ranges with the API's pipeline; every count is checked against the
 * harness's own. Skipped where the devstack's server is not this engine.
 */
export async function runEngineComparison(context: BenchContext, options: EngineOptions): Promise<EngineResult> {
  const binary = findMongoServer();
  if (binary?.kind !== 'ferretdb') return { skipped: 'the MongoDB-wire server here is not FerretDB + DocumentDB' };
  const readings = generateReadings(options.engineReadings);
  const queries = ENGINE_RANGES.map((range) => ({
    ...range,
    starts: Array.from({ length: options.samples }, () => START + Math.floor(Math.random() * (SPAN_DAYS * DAY_MS - range.ms + 1))),
  }));
  const variants: EngineVariant[] = [];
  for (const { setting, compositeIndexes } of ENGINE_SETTINGS) {
    const dir = mkdtempSync(join(tmpdir(), 'tally-bench-engine-'));
    const removeDir = context.cleanup.defer(async () => rmSync(dir, { recursive: true, force: true }));
    const server = await startLocalMongo({ binary, dir, compositeIndexes });
    const stopServer = context.cleanup.defer(() => server.stop());
    const client = await MongoClient.connect(server.urls.mongodbUri ?? '');
    const closeClient = context.cleanup.defer(() => client.close());
    try {
      const store = createStatusEventStore({ db: client.db('bench_engine') });
      await store.ensureIndexes();
      const insert = await insertAll(store, readings, setting);
      const ranges: EngineRange[] = [];
      for (const query of queries) ranges.push(await timeCounts(store, readings, query, setting));
      variants.push({ setting, compositeIndexes, ...insert, ranges, exact: true });
    } finally {
      await closeClient();
      await stopServer();
      await removeDir();
    }
  }
  return { readings: options.engineReadings, spanDays: SPAN_DAYS, samples: options.samples, variants };
}

/** Readings as two arrays (time, status): a million take 9 MB, and counting them is a loop. */
interface Readings {
  ts: Float64Array;
  status: Uint8Array;
}

function generateReadings(count: number): Readings {
  const ts = new Float64Array(count);
  const status = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    ts[i] = START + Math.floor(Math.random() * SPAN_DAYS * DAY_MS);
    status[i] = Math.floor(Math.random() * STATUS_KEYS.length);
  }
  return { ts, status };
}

function referenceCounts({ ts, status }: Readings, start: number, end: number): StatusCounts {
  const counts = zeroCounts();
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i] as number;
    if (t >= start && t < end) counts[String(status[i]) as keyof StatusCounts]++;
  }
  return counts;
}

async function insertAll(store: StatusEventStore, readings: Readings, setting: string) {
  const count = readings.ts.length;
  const progress = startProgress({ label: `engine, ${setting}: insert`, total: count });
  try {
    const started = performance.now();
    for (let i = 0; i < count; i += INSERT_BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(count, i + INSERT_BATCH); j++) {
        batch.push({ _id: `r${j}`, status: readings.status[j] as number, ts: new Date(readings.ts[j] as number), receivedAt: new Date() });
      }
      await store.collection.insertMany(batch, { ordered: false });
      progress.update(i + batch.length);
    }
    const seconds = (performance.now() - started) / 1000;
    const rate = perSecond(count, seconds);
    progress.finish(`${rate.toLocaleString('en-US')} readings/s`);
    return { insertSeconds: round(seconds), insertsPerSecond: rate };
  } finally {
    progress.abort();
  }
}

async function timeCounts(
  store: StatusEventStore,
  readings: Readings,
  query: (typeof ENGINE_RANGES)[number] & { starts: number[] },
  setting: string,
): Promise<EngineRange> {
  const progress = startProgress({ label: `engine, ${setting}: ${query.name}`, total: query.starts.length, unit: 'counts' });
  try {
    const latenciesMs: number[] = [];
    for (const [i, start] of query.starts.entries()) {
      const range = { start: new Date(start), end: new Date(start + query.ms) };
      const started = performance.now();
      const counts = await store.countRawByStatus(range, { timeoutMs: COUNT_TIMEOUT_MS });
      latenciesMs.push(round(performance.now() - started, 1));
      const expected = referenceCounts(readings, start, start + query.ms);
      if (JSON.stringify(counts) !== JSON.stringify(expected)) {
        throw new Error(
          `${setting}: the count over ${range.start.toISOString()}..${range.end.toISOString()} is ` +
            `${JSON.stringify(counts)}, the readings inserted hold ${JSON.stringify(expected)}`,
        );
      }
      progress.update(i + 1);
    }
    const result = { name: query.name, ms: query.ms, latenciesMs, ...percentiles(latenciesMs) };
    progress.finish(`p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, counts exact`);
    return result;
  } finally {
    progress.abort();
  }
}
