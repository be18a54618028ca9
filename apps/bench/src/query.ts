import { statusEventFor } from '@tally/contract';
import { freePort, waitUntil, withDatabase, type RunningApp } from '@tally/devstack';
import { randomReading } from '@tally/messaging';
import { createStatusEventStore, floorTo, type StatusCounts, type StatusEventStore } from '@tally/store';
import { startBundle, stopApp, type BenchContext } from './context';
import { createHttpClient, runLoad, type HttpClient, type LoadResult } from './http';
import { readPeakRssMb } from './proc';
import { startProgress } from './progress';
import { perSecond, percentiles, round, type Percentiles } from './stats';

export const DAY_MS = 86_400_000;
/** The stored readings span these many days from QUERY_START. */
export const SPAN_DAYS = 30;
export const QUERY_START = Date.parse('2026-01-01T00:00:00Z');
const SEED_BATCH = 1000;
/** Requests in flight during the /healthz load. */
export const HEALTHZ_CONCURRENCY = 64;
/** The API's longest allowed wait for MongoDB (the raw pipeline over 30 days of 10M readings takes seconds). */
const API_REQUEST_TIMEOUT_MS = 600_000;

export const RANGES = [
  { name: '1 minute', ms: 60_000 },
  { name: '1 hour', ms: 3_600_000 },
  { name: '1 day', ms: DAY_MS },
  { name: '30 days', ms: SPAN_DAYS * DAY_MS },
] as const;

export interface SeedResult {
  database: string;
  /** True when a database holding exactly these readings, with their rollups, was kept from an earlier run. */
  reused: boolean;
  /** Time to store the readings (absent when reused). */
  seconds?: number;
  perSecond?: number;
  /** Time to build their rollups from them (`--rebuild-rollups`' code; absent when reused). */
  rollupSeconds?: number;
}

export interface RangeResult extends Percentiles {
  name: string;
  ms: number;
  /** Each query's latency through the API (rollups), in order. */
  latenciesMs: number[];
  /** Each answer's sum over the statuses. */
  totals: number[];
  /** The raw pipeline over the same ranges, straight to the server. */
  raw: Percentiles & { latenciesMs: number[] };
}

export interface SeriesResult extends Percentiles {
  name: string;
  step: string;
  latenciesMs: number[];
  points: number;
}

export interface QuerySizeResult {
  readings: number;
  seed: SeedResult;
  ranges: RangeResult[];
  series: SeriesResult;
}

export interface QueryResult {
  spanDays: number;
  sizes: QuerySizeResult[];
  /** Measured on the API over the first size. */
  healthz: LoadResult & { concurrency: number };
  apiPeakRssMb: number;
  /** Each API's exit code after SIGTERM (0: graceful). */
  apiExitCodes: (number | null)[];
}

export interface QueryOptions {
  queryReadings: readonly number[];
  samples: number;
  apiSamples: number;
  healthzSeconds: number;
  reseed: boolean;
}

/** The series a chart of a month asks for. */
export const SERIES = { name: '30 days at 1 h', step: '1h', ms: SPAN_DAYS * DAY_MS } as const;

/** One size under test: its readings, the API serving them, and the store for the raw pipeline. */
interface Target {
  readings: number;
  seed: SeedResult;
  store: StatusEventStore;
  client: HttpClient;
  api: RunningApp;
  /** Stops the API (once; also when the run fails). */
  stop: () => Promise<void>;
}

/**
 * Stores (or reuses) the readings of every size and starts an API over each, then times the
 * counts and series of every size in turn, query by query, at the same random ranges: the sizes
 * are compared under the same conditions (measured one size after the other, a p99 of a few ms
 * differed by half between two runs at the same size).
 */
export async function runQuery(context: BenchContext, options: QueryOptions): Promise<QueryResult> {
  const targets: Target[] = [];
  try {
    for (const readings of options.queryReadings) {
      const seed = await seedReadings(context, readings, options.reseed);
      const port = await freePort();
      const api = startBundle(context, {
        app: 'api',
        env: {
          MONGODB_URI: withDatabase(context.urls.mongodbUri, seed.database),
          API_PORT: String(port),
          API_REQUEST_TIMEOUT_MS: String(API_REQUEST_TIMEOUT_MS),
        },
      });
      const stop = context.cleanup.defer(() => stopApp(api));
      const client = createHttpClient({ baseUrl: `http://127.0.0.1:${port}`, maxSockets: HEALTHZ_CONCURRENCY });
      targets.push({ readings, seed, store: createStatusEventStore({ db: context.mongo.db(seed.database) }), client, api, stop });
      await waitUntilReady(client, api.exited);
    }
    const [first] = targets;
    if (!first) throw new Error('no query size given');
    const ranges: RangeResult[][] = [];
    for (const range of RANGES) ranges.push(await measureRange(targets, range, options));
    const series = await measureSeries(targets, options.apiSamples);
    const progress = startProgress({ label: 'GET /healthz load', seconds: options.healthzSeconds });
    const load = await runLoad({ client: first.client, path: '/healthz', concurrency: HEALTHZ_CONCURRENCY, seconds: options.healthzSeconds });
    progress.finish(`${load.perSecond.toLocaleString('en-US')} requests/s, ${load.errors} errors`);
    const apiPeakRssMb = Math.max(...targets.map((target) => Math.round(readPeakRssMb(target.api.pid ?? 0))));
    const apiExitCodes: (number | null)[] = [];
    for (const target of targets) {
      target.client.close();
      apiExitCodes.push(await stopApp(target.api));
    }
    return {
      spanDays: SPAN_DAYS,
      sizes: targets.map(({ readings, seed }, i) => ({
        readings,
        seed,
        ranges: ranges.map((perSize) => perSize[i] as RangeResult),
        series: series[i] as SeriesResult,
      })),
      healthz: { ...load, seconds: round(load.seconds), concurrency: HEALTHZ_CONCURRENCY },
      apiPeakRssMb,
      apiExitCodes,
    };
  } finally {
    for (const target of targets) {
      target.client.close();
      await target.stop();
    }
  }
}

/**
 * `count` readings with uniformly random statuses and times over SPAN_DAYS, stored in time order, in
 * database `bench_query_time_ordered_<count>`, which is kept for the next run (storing ten million
 * takes minutes). They are stored raw, as by a Tally without rollups, and the rollups then rebuilt
 * from them.
 */
async function seedReadings(context: BenchContext, count: number, reseed: boolean): Promise<SeedResult> {
  const database = `bench_query_time_ordered_${count}`;
  const store = createStatusEventStore({ db: context.mongo.db(database) });
  // A seeded database carries a marker; one from before markers is counted exactly, once. (The
  // engine's collection statistics are estimates on DocumentDB, off by thousands at 10M.)
  const marker = context.mongo.db(database).collection<{ _id: string; readings: number }>('bench_seed');
  if (!reseed && (await store.rollups.coverage()).getTime() <= QUERY_START) {
    const marked = (await marker.findOne({ _id: 'seed' }))?.readings;
    if (marked === count || (marked === undefined && (await store.collection.countDocuments()) === count)) {
      await marker.updateOne({ _id: 'seed' }, { $set: { readings: count } }, { upsert: true });
      process.stderr.write(`query readings: ${count.toLocaleString('en-US')} kept from an earlier run in ${database}\n`);
      return { database, reused: true };
    }
  }
  await context.mongo.db(database).dropDatabase();
  await store.collection.createIndex({ ts: 1, status: 1 }, { name: 'ts_status' });
  const progress = startProgress({ label: `store ${count.toLocaleString('en-US')} query readings`, total: count });
  let seconds: number;
  try {
    const started = performance.now();
    for (let i = 0; i < count; i += SEED_BATCH) {
      // In time order, as a processor writes readings that arrive as they are taken: reading n at a
      // random moment of its own 1/count of the span, so the times are still uniformly spread.
      const batch = Array.from({ length: Math.min(SEED_BATCH, count - i) }, (_, j) => {
        const at = QUERY_START + Math.floor(((i + j + Math.random()) * SPAN_DAYS * DAY_MS) / count);
        return statusEventFor(randomReading(new Date(at)), { device: undefined, receivedAt: new Date() });
      });
      await store.collection.insertMany(batch, { ordered: false });
      progress.update(i + batch.length);
    }
    seconds = (performance.now() - started) / 1000;
    progress.finish(`${perSecond(count, seconds).toLocaleString('en-US')} readings/s into ${database}`);
  } finally {
    progress.abort();
  }
  await store.ensureIndexes();
  const rebuilding = startProgress({ label: 'rebuild their rollups', total: SPAN_DAYS, unit: 'days' });
  try {
    const started = performance.now();
    let days = 0;
    await store.rollups.rebuild(
      { start: new Date(QUERY_START), end: await store.rollups.coverage() },
      { onProgress: () => rebuilding.update(++days) },
    );
    const rollupSeconds = (performance.now() - started) / 1000;
    rebuilding.finish(`${days} days in ${rollupSeconds.toFixed(1)} s`);
    await marker.insertOne({ _id: 'seed', readings: count });
    return { database, reused: false, seconds: round(seconds), perSecond: perSecond(count, seconds), rollupSeconds: round(rollupSeconds) };
  } finally {
    rebuilding.abort();
  }
}

async function measureRange(
  targets: readonly Target[],
  range: (typeof RANGES)[number],
  { samples, apiSamples }: Pick<QueryOptions, 'samples' | 'apiSamples'>,
): Promise<RangeResult[]> {
  const rawSamples = Math.min(samples, apiSamples);
  const progress = startProgress({ label: `POST /status-counts, ${range.name}`, total: (apiSamples + rawSamples) * targets.length, unit: 'queries' });
  try {
    const results = targets.map(() => ({ latenciesMs: [] as number[], rawLatenciesMs: [] as number[], totals: [] as number[] }));
    let done = 0;
    // Every query through the API; the first `rawSamples` also through the raw pipeline, which must agree.
    for (let i = 0; i < apiSamples; i++) {
      const from = randomStart(range.ms);
      const body = { start_time: new Date(from).toISOString(), end_time: new Date(from + range.ms).toISOString() };
      for (const [t, { client, store, readings }] of targets.entries()) {
        const result = results[t] as (typeof results)[number];
        const started = performance.now();
        const response = await client.send('POST', '/status-counts', body);
        const latency = performance.now() - started;
        if (response.status !== 200) {
          throw new Error(`POST /status-counts (${range.name}, ${readings} readings) answered ${response.status}: ${response.body}`);
        }
        const counts = JSON.parse(response.body) as StatusCounts;
        result.latenciesMs.push(round(latency, 1));
        result.totals.push(Object.values(counts).reduce((sum, n) => sum + n, 0));
        progress.update(++done);
        if (i >= rawSamples) continue;

        const rawStarted = performance.now();
        const raw = await store.countRawByStatus({ start: new Date(from), end: new Date(from + range.ms) }, { timeoutMs: API_REQUEST_TIMEOUT_MS });
        result.rawLatenciesMs.push(round(performance.now() - rawStarted, 1));
        if (JSON.stringify(raw) !== JSON.stringify(counts)) {
          throw new Error(
            `${range.name} from ${body.start_time} over ${readings} readings: the API counted ${response.body}, the raw pipeline ${JSON.stringify(raw)}`,
          );
        }
        progress.update(++done);
      }
    }
    const measured = results.map(({ latenciesMs, rawLatenciesMs, totals }) => {
      const raw = { latenciesMs: rawLatenciesMs, ...percentiles(rawLatenciesMs) };
      return { name: range.name, ms: range.ms, latenciesMs, totals, ...percentiles(latenciesMs), raw };
    });
    progress.finish(
      measured.map((r, t) => `${targets[t]?.readings.toLocaleString('en-US')}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms; raw p50 ${r.raw.p50.toFixed(0)} ms`).join(' | '),
    );
    return measured;
  } finally {
    progress.abort();
  }
}

async function measureSeries(targets: readonly Target[], samples: number): Promise<SeriesResult[]> {
  const progress = startProgress({ label: `GET /status-counts/series, ${SERIES.name}`, total: samples * targets.length, unit: 'queries' });
  try {
    const results = targets.map(() => ({ latenciesMs: [] as number[], points: 0 }));
    for (let i = 0; i < samples; i++) {
      // A month from a random whole hour: 720 points of an hour, as a chart of 30 days asks for them.
      const from = floorTo(randomStart(DAY_MS), 3_600_000);
      const query = `start_time=${new Date(from).toISOString()}&end_time=${new Date(from + SERIES.ms).toISOString()}&step=${SERIES.step}`;
      for (const [t, { client }] of targets.entries()) {
        const result = results[t] as (typeof results)[number];
        const started = performance.now();
        const response = await client.send('GET', `/status-counts/series?${query}`);
        result.latenciesMs.push(round(performance.now() - started, 1));
        if (response.status !== 200) throw new Error(`GET /status-counts/series answered ${response.status}: ${response.body}`);
        result.points = (JSON.parse(response.body) as { points: unknown[] }).points.length;
        progress.update(i * targets.length + t + 1);
      }
    }
    const measured = results.map(({ latenciesMs, points }) => ({ name: SERIES.name, step: SERIES.step, latenciesMs, points, ...percentiles(latenciesMs) }));
    progress.finish(measured.map((r, t) => `${targets[t]?.readings.toLocaleString('en-US')}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`).join(' | '));
    return measured;
  } finally {
    progress.abort();
  }
}

/** A random start for a range of `ms` within the stored span. */
function randomStart(ms: number): number {
  return QUERY_START + Math.floor(Math.random() * (SPAN_DAYS * DAY_MS - ms + 1));
}

/** Waits for GET /readyz to answer 200 (MongoDB reachable), for at most 30 s. */
async function waitUntilReady(client: HttpClient, exited: Promise<number | null>): Promise<void> {
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  await waitUntil('the API to answer GET /readyz with 200', async () => (await client.send('GET', '/readyz')).status === 200, {
    timeoutMs: 30_000,
    intervalMs: 100,
    abort: () => (gone === undefined ? undefined : new Error(`The API exited at start-up (code ${gone})`)),
  });
}
