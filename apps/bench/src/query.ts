import { freePort } from '@tally/devstack';
import { randomReading } from '@tally/messaging';
import { createStatusEventStore } from '@tally/store';
import { cheapCount, sleep, startBundle, stopApp, withDatabase, type BenchContext } from './context';
import { createHttpClient, runLoad, type HttpClient, type LoadResult } from './http';
import { readPeakRssMb } from './proc';
import { startProgress } from './progress';
import { perSecond, percentiles, round, type Percentiles } from './stats';

const DAY_MS = 86_400_000;
/** The stored readings span these many days from QUERY_START. */
export const SPAN_DAYS = 30;
const QUERY_START = Date.parse('2026-01-01T00:00:00Z');
const SEED_BATCH = 1000;
/** Requests in flight during the /healthz load. */
export const HEALTHZ_CONCURRENCY = 64;
/** The API's longest allowed wait for MongoDB: a full scan of a big collection on FerretDB is slow. */
const API_REQUEST_TIMEOUT_MS = 600_000;

export const RANGES = [
  { name: '1 minute', ms: 60_000 },
  { name: '1 hour', ms: 3_600_000 },
  { name: '1 day', ms: DAY_MS },
  { name: '30 days', ms: SPAN_DAYS * DAY_MS },
] as const;

export interface SeedResult {
  database: string;
  /** True when a database holding exactly these readings was kept from an earlier run. */
  reused: boolean;
  /** Time to store the readings (absent when reused). */
  seconds?: number;
  perSecond?: number;
}

export interface RangeResult extends Percentiles {
  name: string;
  ms: number;
  /** Each query's latency, in order. */
  latenciesMs: number[];
  /** Each answer's sum over the statuses. */
  totals: number[];
}

export interface QueryResult {
  readings: number;
  spanDays: number;
  seed: SeedResult;
  ranges: RangeResult[];
  healthz: LoadResult & { concurrency: number };
  apiPeakRssMb: number;
  apiExitCode: number | null;
}

export interface QueryOptions {
  queryReadings: number;
  samples: number;
  healthzSeconds: number;
  reseed: boolean;
}

/** Stores (or reuses) the readings, then times the API's queries and its /healthz throughput. */
export async function runQuery(context: BenchContext, options: QueryOptions): Promise<QueryResult> {
  const seed = await seedReadings(context, options.queryReadings, options.reseed);
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
  try {
    await waitUntilReady(client, api.exited);
    const ranges: RangeResult[] = [];
    for (const range of RANGES) ranges.push(await measureRange(client, range, options.samples));
    const progress = startProgress({ label: 'GET /healthz load', seconds: options.healthzSeconds });
    const load = await runLoad({
      client,
      path: '/healthz',
      concurrency: HEALTHZ_CONCURRENCY,
      seconds: options.healthzSeconds,
    });
    progress.finish(`${load.perSecond.toLocaleString('en-US')} requests/s, ${load.errors} errors`);
    const apiPeakRssMb = Math.round(readPeakRssMb(api.pid ?? 0));
    client.close();
    const apiExitCode = await stopApp(api);
    return {
      readings: options.queryReadings,
      spanDays: SPAN_DAYS,
      seed,
      ranges,
      healthz: { ...load, seconds: round(load.seconds), concurrency: HEALTHZ_CONCURRENCY },
      apiPeakRssMb,
      apiExitCode,
    };
  } finally {
    client.close();
    await stop();
  }
}

/**
 * `count` readings with uniformly random statuses and times over SPAN_DAYS, in database
 * `bench_query_<count>`, which is kept for the next run (storing a million takes minutes).
 */
async function seedReadings(context: BenchContext, count: number, reseed: boolean): Promise<SeedResult> {
  const database = `bench_query_${count}`;
  const store = createStatusEventStore({ db: context.mongo.db(database) });
  const kept = (await cheapCount(store.collection)) ?? (await store.collection.countDocuments());
  if (kept === count && !reseed) {
    await store.ensureIndexes();
    process.stderr.write(`query readings: ${count.toLocaleString('en-US')} kept from an earlier run in ${database}\n`);
    return { database, reused: true };
  }
  await store.collection.drop().catch(() => undefined);
  await store.ensureIndexes();
  const progress = startProgress({ label: 'store query readings', total: count });
  try {
    const started = performance.now();
    for (let i = 0; i < count; i += SEED_BATCH) {
      const batch = Array.from({ length: Math.min(SEED_BATCH, count - i) }, () => {
        const { id, status, ts } = randomReading(new Date(QUERY_START + Math.floor(Math.random() * SPAN_DAYS * DAY_MS)));
        return { _id: id, status, ts, receivedAt: new Date() };
      });
      await store.collection.insertMany(batch, { ordered: false });
      progress.update(i + batch.length);
    }
    const seconds = (performance.now() - started) / 1000;
    const rate = perSecond(count, seconds);
    progress.finish(`${rate.toLocaleString('en-US')} readings/s into ${database}`);
    return { database, reused: false, seconds: round(seconds), perSecond: rate };
  } finally {
    progress.abort();
  }
}

async function measureRange(client: HttpClient, range: (typeof RANGES)[number], samples: number): Promise<RangeResult> {
  const progress = startProgress({ label: `POST /status-counts, ${range.name}`, total: samples, unit: 'queries' });
  try {
    const latenciesMs: number[] = [];
    const totals: number[] = [];
    for (let i = 0; i < samples; i++) {
      const from = QUERY_START + Math.floor(Math.random() * (SPAN_DAYS * DAY_MS - range.ms + 1));
      const started = performance.now();
      const response = await client.send('POST', '/status-counts', {
        start_time: new Date(from).toISOString(),
        end_time: new Date(from + range.ms).toISOString(),
      });
      const latency = performance.now() - started;
      if (response.status !== 200) {
        throw new Error(`POST /status-counts (${range.name}) answered ${response.status}: ${response.body}`);
      }
      const counts = JSON.parse(response.body) as Record<string, number>;
      latenciesMs.push(round(latency, 1));
      totals.push(Object.values(counts).reduce((sum, n) => sum + n, 0));
      progress.update(i + 1);
    }
    const result = { name: range.name, ms: range.ms, latenciesMs, totals, ...percentiles(latenciesMs) };
    progress.finish(`p50 ${result.p50.toFixed(0)} ms, p95 ${result.p95.toFixed(0)} ms, p99 ${result.p99.toFixed(0)} ms`);
    return result;
  } finally {
    progress.abort();
  }
}

/** Waits for GET /readyz to answer 200 (MongoDB reachable), for at most 30 s. */
async function waitUntilReady(client: HttpClient, exited: Promise<number | null>): Promise<void> {
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
    if (gone !== undefined) throw new Error(`The API exited at start-up (code ${gone})`);
    const status = await client.send('GET', '/readyz').then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
  }
  throw new Error('The API did not answer GET /readyz with 200 within 30 s');
}
