import { execFileSync } from 'node:child_process';
import { fleetDeviceIds, statusEventFor } from '@tally/contract';
import { freePort, waitUntil, withDatabase, type RunningApp } from '@tally/devstack';
import { randomReading } from '@tally/messaging';
import { createStatusEventStore, STATUS_EVENTS_COLLECTION, type StatusEventStore } from '@tally/store';
import { startBundle, stopApp, type BenchContext } from './context';
import { createHttpClient, runLoad, type HttpClient, type LoadResult } from './http';
import { readPeakRssMb } from './proc';
import { startProgress } from './progress';
import { DAY_MS, DEVICE_PAGE, QUERY_START, queryKinds, readDevicePage, SPAN_DAYS, type Fleet, type QueryKind } from './questions';
import { perSecond, percentiles, round, type Percentiles } from './stats';
import { measureStorage, type StorageResult } from './storage';
import { API_IMAGE_NODE_OPTIONS } from './options';

const SEED_BATCH = 1000;
/** Requests in flight during the /healthz load. */
export const HEALTHZ_CONCURRENCY = 64;
/** The API's longest allowed wait for MongoDB (the raw pipeline over 30 days of 10M readings takes seconds). */
export const API_REQUEST_TIMEOUT_MS = 600_000;

export interface SeedResult {
  database: string;
  /** True when a database holding exactly these readings, with their rollups, was kept from an earlier run. */
  reused: boolean;
  /** Time to store the readings (absent when they were kept). */
  seconds?: number;
  perSecond?: number;
  /** Time to build their rollups from them (`--rebuild-rollups`' code; absent when kept). */
  rollupSeconds?: number;
  /** The store code the rollups were built by: the git tree of libs/store/src. */
  rollups: string;
}

/** The latencies of one row of the query table at one size. */
export interface QueryFigures extends Percentiles {
  /** The row, e.g. `POST /status-counts, 1 day` (see questions.ts). */
  name: string;
  scope: QueryKind['scope'];
  /** Each question's latency through the API, in order. */
  latenciesMs: number[];
  /** Each answer's total: readings counted, or devices listed. */
  totals: number[];
  /** The raw pipeline on the first `--samples` questions, straight to the server; each answered as the API did. */
  raw: Percentiles & { latenciesMs: number[] };
}

export interface QuerySizeResult {
  readings: number;
  /** Devices the readings came from. */
  devices: number;
  seed: SeedResult;
  /** In the order of `queryKinds()`. */
  queries: QueryFigures[];
  /** What the readings and their rollups take on disk, after the queries. */
  storage: StorageResult;
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
  /** Devices the readings come from. */
  devices: number;
}

/** One size under test: its readings, the API serving them, and the store for the raw pipeline. */
export interface Target {
  readings: number;
  seed: SeedResult;
  store: StatusEventStore;
  client: HttpClient;
  api: RunningApp;
  /** Stops the API (once; also when the run fails). */
  stop: () => Promise<void>;
}

/** The built API over the readings of `seed`, ready, and the store for the raw pipeline. */
export async function startTarget(context: BenchContext, readings: number, seed: SeedResult): Promise<Target> {
  const port = await freePort();
  const api = startBundle(context, {
    app: 'api',
    env: {
      MONGODB_URI: withDatabase(context.urls.mongodbUri, seed.database),
      API_PORT: String(port),
      API_REQUEST_TIMEOUT_MS: String(API_REQUEST_TIMEOUT_MS),
      NODE_OPTIONS: API_IMAGE_NODE_OPTIONS,
    },
  });
  const stop = context.cleanup.defer(() => stopApp(api));
  const client = createHttpClient({ baseUrl: `http://127.0.0.1:${port}`, maxSockets: HEALTHZ_CONCURRENCY });
  const target = { readings, seed, store: createStatusEventStore({ db: context.mongo.db(seed.database) }), client, api, stop };
  await waitUntilReady(client, api.exited);
  return target;
}

/**
 * Stores (or reuses) the readings of every size and starts an API over each, then asks every
 * kind of question (questions.ts) of every size in turn, at the same random ranges and devices: the sizes
 * are compared under the same conditions (measured one size after the other, a p99 of a few ms
 * differed by half between two runs at the same size).
 */
export async function runQuery(context: BenchContext, options: QueryOptions): Promise<QueryResult> {
  const fleet = fleetDeviceIds(options.devices);
  const tooFew = options.queryReadings.find((readings) => readings < fleet.length);
  if (tooFew !== undefined) throw new Error(`--query-readings ${tooFew} is below --devices ${fleet.length}: every device must hold readings`);
  const targets: Target[] = [];
  try {
    for (const readings of options.queryReadings) {
      const seed = await seedReadings(context, readings, fleet, options.reseed, QUERY_SPAN);
      targets.push(await startTarget(context, readings, seed));
    }
    const [first] = targets;
    if (!first) throw new Error('no query size given');
    const cursors = await walkDirectory(targets, fleet);
    const queries: QueryFigures[][] = [];
    for (const kind of queryKinds()) queries.push(await measureQueries(targets, kind, { devices: fleet, cursors }, options));
    const progress = startProgress({ label: 'GET /healthz load', seconds: options.healthzSeconds });
    const load = await runLoad({ client: first.client, path: '/healthz', concurrency: HEALTHZ_CONCURRENCY, seconds: options.healthzSeconds });
    progress.finish(`${load.perSecond.toLocaleString('en-US')} requests/s, ${load.errors} errors`);
    const apiPeakRssMb = Math.max(...targets.map((target) => Math.round(readPeakRssMb(target.api.pid ?? 0))));
    const apiExitCodes: (number | null)[] = [];
    for (const target of targets) {
      target.client.close();
      apiExitCodes.push(await stopApp(target.api));
    }
    const storage: StorageResult[] = [];
    for (const target of targets) storage.push(await measureStorage(context.mongo.db(target.seed.database), target.readings));
    return {
      spanDays: SPAN_DAYS,
      sizes: targets.map(({ readings, seed }, i) => ({
        readings,
        devices: fleet.length,
        seed,
        queries: queries.map((perSize) => perSize[i] as QueryFigures),
        storage: storage[i] as StorageResult,
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

/** Where a data set's readings lie: `days` days from `start`, in database `<database>_<count>`. */
export interface SeedSpan {
  start: number;
  days: number;
  database: string;
}

/** The query phase's readings: SPAN_DAYS from QUERY_START. */
const QUERY_SPAN: SeedSpan = { start: QUERY_START, days: SPAN_DAYS, database: 'bench_query_time_ordered' };

/**
 * `count` readings with uniformly random statuses and times over the span's days, stored in time order,
 * from a fleet of `devices` (`sim-00001`…) each reporting on its own cadence: reading n is device
 * n mod `devices`'s, so every device holds count ÷ devices readings (±1) evenly spread, their
 * phases spread over the interval, as the broadcaster's `--devices` fleet publishes. They are
 * stored raw, as by a Tally without rollups, and the rollups (the fleet's buckets and the devices'
 * hour slots and day totals) then rebuilt from them.
 *
 * Database `<span.database>_<count>` is kept for the next run (storing ten million takes
 * minutes), under a marker naming the readings, the fleet and the store code that built the
 * rollups: readings seeded otherwise (another fleet, or before devices) are stored again; rollups
 * of other store code are dropped and rebuilt from the readings kept.
 */
export async function seedReadings(
  context: BenchContext,
  count: number,
  devices: readonly string[],
  reseed: boolean,
  span: SeedSpan,
): Promise<SeedResult> {
  const database = `${span.database}_${count}`;
  const db = context.mongo.db(database);
  // Its indexes are built over every reading once they are stored: minutes at 10M.
  const store = createStatusEventStore({ db, insertTimeoutMs: API_REQUEST_TIMEOUT_MS });
  const marker = db.collection<SeedMarker>(SEED_MARKER_COLLECTION);
  const rollups = storeVersion(context.root);
  const what = `${count.toLocaleString('en-US')} from ${devices.length.toLocaleString('en-US')} devices`;
  const marked = reseed ? null : await marker.findOne({ _id: 'seed' });
  const readingsKept = marked?.readings === count && marked.devices === devices.length;
  if (readingsKept && marked.rollups === rollups && (await store.rollups.coverage()).getTime() <= span.start) {
    process.stderr.write(`query readings: ${what} kept from an earlier run in ${database}\n`);
    return { database, reused: true, rollups };
  }
  let stored: Pick<SeedResult, 'seconds' | 'perSecond'> = {};
  if (readingsKept) {
    process.stderr.write(`query readings: ${what} kept in ${database}; their rollups were built by store ${marked.rollups ?? 'unknown'}, not ${rollups}: rebuilding them\n`);
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      if (name !== STATUS_EVENTS_COLLECTION && name !== SEED_MARKER_COLLECTION) await db.dropCollection(name);
    }
  } else {
    await db.dropDatabase();
    stored = await storeReadings(store, count, devices, database, span);
    await marker.insertOne({ _id: 'seed', readings: count, devices: devices.length });
  }
  await store.ensureIndexes();
  const rebuilding = startProgress({ label: 'rebuild their rollups', total: span.days, unit: 'days' });
  try {
    const started = performance.now();
    let days = 0;
    await store.rollups.rebuild(
      { start: new Date(span.start), end: await store.rollups.coverage() },
      { onProgress: () => rebuilding.update(++days) },
    );
    const rollupSeconds = (performance.now() - started) / 1000;
    rebuilding.finish(`${days} days in ${rollupSeconds.toFixed(1)} s`);
    await marker.updateOne({ _id: 'seed' }, { $set: { rollups } });
    return { database, reused: false, ...stored, rollupSeconds: round(rollupSeconds), rollups };
  } finally {
    rebuilding.abort();
  }
}

/** Stores the readings raw, in time order, into a collection with the `{ts, status}` index only. */
async function storeReadings(
  store: StatusEventStore,
  count: number,
  devices: readonly string[],
  database: string,
  span: SeedSpan,
): Promise<Pick<SeedResult, 'seconds' | 'perSecond'>> {
  await store.collection.createIndex({ ts: 1, status: 1 }, { name: 'ts_status' });
  const progress = startProgress({ label: `store ${count.toLocaleString('en-US')} query readings`, total: count });
  try {
    const started = performance.now();
    for (let i = 0; i < count; i += SEED_BATCH) {
      // In time order, as a processor writes readings that arrive as they are taken: reading n at a
      // random moment of its own 1/count of the span, so the times are still uniformly spread.
      const batch = Array.from({ length: Math.min(SEED_BATCH, count - i) }, (_, j) => {
        const at = span.start + Math.floor(((i + j + Math.random()) * span.days * DAY_MS) / count);
        const device = devices[(i + j) % devices.length];
        return statusEventFor(randomReading(new Date(at), device), { device, receivedAt: new Date() });
      });
      await store.collection.insertMany(batch, { ordered: false });
      progress.update(i + batch.length);
    }
    const seconds = (performance.now() - started) / 1000;
    progress.finish(`${perSecond(count, seconds).toLocaleString('en-US')} readings/s into ${database}`);
    return { seconds: round(seconds), perSecond: perSecond(count, seconds) };
  } finally {
    progress.abort();
  }
}

/**
 * The store code that builds rollups: the git tree of libs/store/src (its content, whatever the
 * commit), `+dirty` with changes not committed (then `--reseed` after each change), `unknown`
 * without git.
 */
function storeVersion(root: string): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const tree = git('rev-parse', '--short', 'HEAD:libs/store/src');
    return git('status', '--porcelain', '--', 'libs/store/src') === '' ? tree : `${tree}+dirty`;
  } catch {
    return 'unknown';
  }
}

const SEED_MARKER_COLLECTION = 'bench_seed';

/** What a seeded database holds: written once its readings are stored, `rollups` once they are rebuilt. */
interface SeedMarker {
  _id: 'seed';
  readings: number;
  /** The fleet's size; absent on databases seeded before readings had devices. */
  devices?: number;
  /** The store code that built the rollups (`storeVersion`); absent until they are. */
  rollups?: string;
}

/**
 * `apiSamples` questions of one kind, each asked of every size in turn; the first `samples` also
 * of the raw pipeline, whose answer must equal the API's, or the run fails.
 */
export async function measureQueries(
  targets: readonly Target[],
  kind: QueryKind,
  fleet: Fleet,
  { samples, apiSamples }: Pick<QueryOptions, 'samples' | 'apiSamples'>,
): Promise<QueryFigures[]> {
  const rawSamples = Math.min(samples, apiSamples);
  const progress = startProgress({ label: kind.name, total: (apiSamples + rawSamples) * targets.length, unit: 'queries' });
  try {
    const results = targets.map(() => ({ latenciesMs: [] as number[], rawLatenciesMs: [] as number[], totals: [] as number[] }));
    let done = 0;
    for (let i = 0; i < apiSamples; i++) {
      const question = kind.ask(fleet, Math.random);
      for (const [t, { client, store, readings }] of targets.entries()) {
        const result = results[t] as (typeof results)[number];
        const started = performance.now();
        const response = await client.send(question.method, question.path, question.body);
        const latency = performance.now() - started;
        if (response.status !== 200) {
          throw new Error(`${question.method} ${question.path} (${readings} readings) answered ${response.status}: ${response.body}`);
        }
        const { comparable, total } = question.read(response.body);
        result.latenciesMs.push(round(latency, 1));
        result.totals.push(total);
        progress.update(++done);
        if (i >= rawSamples) continue;

        const rawStarted = performance.now();
        const raw = await question.raw(store, API_REQUEST_TIMEOUT_MS);
        result.rawLatenciesMs.push(round(performance.now() - rawStarted, 1));
        if (JSON.stringify(raw) !== JSON.stringify(comparable)) {
          throw new Error(
            `${kind.name}, ${question.label}, over ${readings} readings: the API answered ${JSON.stringify(comparable)}, the raw pipeline ${JSON.stringify(raw)}`,
          );
        }
        progress.update(++done);
      }
    }
    const measured = results.map(({ latenciesMs, rawLatenciesMs, totals }) => {
      const raw = { latenciesMs: rawLatenciesMs, ...percentiles(rawLatenciesMs) };
      return { name: kind.name, scope: kind.scope, latenciesMs, totals, ...percentiles(latenciesMs), raw };
    });
    progress.finish(
      measured.map((r, t) => `${targets[t]?.readings.toLocaleString('en-US')}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms; raw p50 ${r.raw.p50.toFixed(0)} ms`).join(' | '),
    );
    return measured;
  } finally {
    progress.abort();
  }
}

/**
 * Pages through `GET /devices` of every size, following `next_cursor`: each must list the whole
 * fleet once, in order, and give the same cursors. Returns them, for questions at random pages.
 */
async function walkDirectory(targets: readonly Target[], fleet: readonly string[]): Promise<string[]> {
  const walks: string[][] = [];
  for (const { client, readings } of targets) {
    const listed: string[] = [];
    const cursors: string[] = [];
    for (;;) {
      const cursor = cursors.at(-1);
      const path = `/devices?limit=${DEVICE_PAGE}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const response = await client.send('GET', path);
      if (response.status !== 200) throw new Error(`GET ${path} (${readings} readings) answered ${response.status}: ${response.body}`);
      const page = readDevicePage(response.body);
      listed.push(...page.devices.map((d) => d.device));
      if (page.next_cursor === undefined || listed.length > fleet.length) break;
      cursors.push(page.next_cursor);
    }
    if (JSON.stringify(listed) !== JSON.stringify(fleet)) {
      throw new Error(`GET /devices over ${readings} readings listed ${listed.length} devices, not the fleet's ${fleet.length} once each in order`);
    }
    walks.push(cursors);
  }
  const [cursors = []] = walks;
  if (walks.some((walk) => JSON.stringify(walk) !== JSON.stringify(cursors))) throw new Error('GET /devices gave other cursors at another size');
  return cursors;
}

/** Waits for GET /readyz to answer 200 (MongoDB reachable), for at most 30 s. */
export async function waitUntilReady(client: HttpClient, exited: Promise<number | null>): Promise<void> {
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  await waitUntil('the API to answer GET /readyz with 200', async () => (await client.send('GET', '/readyz')).status === 200, {
    timeoutMs: 30_000,
    intervalMs: 100,
    abort: () => (gone === undefined ? undefined : new Error(`The API exited at start-up (code ${gone})`)),
  });
}
