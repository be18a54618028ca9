import { request, type IncomingMessage } from 'node:http';
import { fleetDeviceIds } from '@tally/contract';
import { createTestVhost, freePort, pollUntil, waitUntil, withDatabase } from '@tally/devstack';
import { STATUS_EVENTS_COLLECTION } from '@tally/store';
import type { Collection, Document } from 'mongodb';
import { createAmqpConnection, createReadingPublisher, randomReading, type ReadingPublisher } from '@tally/messaging';
import { sleep, startBundle, stopApp, type BenchContext } from './context';
import { DEFAULT_PARTITIONS, partitionsState } from './ingest';
import { readCpuSeconds, readPeakRssMb } from './proc';
import { startProgress } from './progress';
import { percentiles, round, type Percentiles } from './stats';
import { API_IMAGE_NODE_OPTIONS } from './options';

/** The stream every client follows: the last hour, by the minute (the trickle's readings are in it, the load's are not). */
export const LIVE_STREAM = '/status-counts/stream?window=1h&step=1m';
/** Messages the load keeps waiting in tally.status: the processor always has a batch, and a trickle reading waits behind few. */
export const LIVE_LOAD_QUEUE = 250;
/** Readings of the load (a fleet catching up with old readings) are a day old: they change no point the clients watch. */
const LOAD_AGE_MS = 86_400_000;

export interface LiveOptions {
  /** Stream clients of the big run (the small run has one). */
  liveClients: number;
  /** Seconds each run lasts once its clients are connected. */
  liveSeconds: number;
  devices: number;
}

export interface LiveRun {
  clients: number;
  seconds: number;
  /** Trickle readings published during the run (one a second). */
  trickle: number;
  /** Publish of a trickle reading to the event that counts it, at each client, in ms. */
  latencyMs: Percentiles & { samples: number };
  /** Publish of a trickle reading to its document in the store (the queue and the processor's part of the above), in ms. */
  storedMs: Percentiles;
  /** The API's store queries per second during the run (every operation: ticks and nothing else ask). */
  storeQueriesPerSecond: number;
  /** The mean store time of a tick, in ms. */
  tickStoreMs: number;
  /** Events the API wrote per second, to all clients. */
  eventsPerSecond: number;
  /** Readings the processor stored per second meanwhile (the load, at its full rate). */
  processorPerSecond: number;
  /** The API's CPU over the run, in cores. */
  apiCpuCores: number;
}

export interface LiveResult {
  small: LiveRun;
  big: LiveRun;
  /** The API's VmHWM at the end of the big run. */
  apiPeakRssMb: number;
  /** Store queries per second of the big run over the small's. */
  queriesRatio: number;
}

/**
 * Live streams under load: the processor drains a catching-up fleet at its full rate (tally.status
 * kept `LIVE_LOAD_QUEUE` deep), one reading a second trickles in over MQTT, and stream clients
 * follow the last hour: first one client, then `liveClients`, each for `liveSeconds`.
 */
export async function runLive(context: BenchContext, options: LiveOptions): Promise<LiveResult> {
  const vhost = await createTestVhost(context.urls, 'bench-live');
  const disposeVhost = context.cleanup.defer(() => vhost.dispose());
  const db = context.mongo.db(`bench_${context.runId}_live`);
  const dropDatabase = context.cleanup.defer(() => db.dropDatabase());
  const mongodbUri = withDatabase(context.urls.mongodbUri, db.databaseName);
  const [port, metricsPort] = [await freePort(), await freePort()];
  const processor = startBundle(context, { app: 'processor', env: { AMQP_URL: vhost.amqpUrl, MONGODB_URI: mongodbUri, LOG_LEVEL: 'info' } });
  const stopProcessor = context.cleanup.defer(() => stopApp(processor));
  const api = startBundle(context, {
    app: 'api',
    env: {
      AMQP_URL: vhost.amqpUrl,
      MONGODB_URI: mongodbUri,
      API_PORT: String(port),
      API_METRICS_PORT: String(metricsPort),
      API_MAX_STREAMS: String(options.liveClients + 10),
      LOG_LEVEL: 'info',
      NODE_OPTIONS: API_IMAGE_NODE_OPTIONS,
    },
  });
  const stopApi = context.cleanup.defer(() => stopApp(api));
  const connection = createAmqpConnection({ url: vhost.amqpUrl, connectionName: 'tally-bench-live' });
  connection.on('error', () => undefined);
  const amqp = createReadingPublisher({ transport: 'amqp', connection, partitions: DEFAULT_PARTITIONS });
  const mqtt = createReadingPublisher({
    transport: 'mqtt',
    connection,
    partitions: DEFAULT_PARTITIONS,
    mqttUrl: vhost.mqttUrl,
    clientId: `tally-bench-live-${vhost.name}`,
  });
  const closePublishers = context.cleanup.defer(async () => {
    await Promise.all([amqp.close(), mqtt.close()]);
    await connection.close();
  });
  try {
    await processor.waitForLog('consuming', 60_000);
    await api.waitForLog('live: hearing announcements of stored readings', 60_000);
    const load = startLoad(amqp, async () => (await partitionsState(connection, DEFAULT_PARTITIONS)).messageCount, fleetDeviceIds(options.devices));
    try {
      const base = `http://127.0.0.1:${port}`;
      const metrics = () => scrape(`http://127.0.0.1:${metricsPort}/metrics`);
      const events = db.collection<Document>(STATUS_EVENTS_COLLECTION);
      const run = (clients: number) => measureRun({ base, metrics, apiPid: api.pid ?? 0, mqtt, load, events, clients, seconds: options.liveSeconds });
      const small = await run(1);
      const big = await run(options.liveClients);
      return { small, big, apiPeakRssMb: Math.round(readPeakRssMb(api.pid ?? 0)), queriesRatio: round(big.storeQueriesPerSecond / small.storeQueriesPerSecond, 3) };
    } finally {
      await load.stop();
    }
  } finally {
    await closePublishers();
    await stopApi();
    await stopProcessor();
    await dropDatabase();
    await disposeVhost();
  }
}

interface Load {
  /** Load readings acknowledged by the broker so far. */
  readonly published: number;
  stop(): Promise<void>;
}

/** Publishes old readings of `devices` as fast as the processor takes them, keeping `LIVE_LOAD_QUEUE` waiting. */
function startLoad(publisher: ReadingPublisher, depth: () => Promise<number>, devices: readonly string[]): Load {
  let running = true;
  let published = 0;
  const loop = (async () => {
    while (running) {
      const room = LIVE_LOAD_QUEUE - (await depth().catch(() => LIVE_LOAD_QUEUE));
      if (room < 100) {
        await sleep(20);
        continue;
      }
      await Promise.all(
        Array.from({ length: room }, (_, i) =>
          publisher.publish(randomReading(new Date(Date.now() - LOAD_AGE_MS - i), devices[(published + i) % devices.length])).then(() => void published++),
        ),
      );
    }
  })();
  return {
    get published() {
      return published;
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

interface RunOptions {
  base: string;
  metrics: () => Promise<Map<string, number>>;
  apiPid: number;
  mqtt: ReadingPublisher;
  load: Load;
  /** Where the processor stores the readings: polled for each trickle reading's arrival. */
  events: Collection<Document>;
  clients: number;
  seconds: number;
}

/** `clients` streams connected, then `seconds` of one trickle reading a second; what it cost and how soon each showed. */
async function measureRun({ base, metrics, apiPid, mqtt, load, events, clients, seconds }: RunOptions): Promise<LiveRun> {
  const progress = startProgress({ label: `live: ${clients} stream client${clients === 1 ? '' : 's'}`, total: clients + seconds });
  const sentAt: number[] = [];
  const latencies: number[] = [];
  const streams: Stream[] = [];
  try {
    // In tens: each first event is a query, and the API runs at most API_MAX_CONCURRENT_QUERIES at once.
    for (let i = 0; i < clients; i += 10) {
      const batch = await Promise.all(Array.from({ length: Math.min(10, clients - i) }, () => openStream(`${base}${LIVE_STREAM}`, sentAt, latencies)));
      streams.push(...batch);
      progress.update(streams.length);
    }
    await waitUntil('every first event', async () => streams.every((stream) => stream.total !== undefined), { timeoutMs: 120_000, intervalMs: 50 });
    // Counts from here: the trickle of earlier runs is in every client's first event.
    for (const stream of streams) stream.baseline = stream.total ?? 0;
    sentAt.length = 0;
    latencies.length = 0;
    const before = await metrics();
    const cpuBefore = readCpuSeconds(apiPid);
    const loadBefore = load.published;
    const started = performance.now();
    const storedAfter: Promise<number>[] = [];
    for (let k = 0; k < seconds; k++) {
      const at = started + k * 1000;
      await sleep(Math.max(0, at - performance.now()));
      const reading = randomReading(new Date(), 'bench-trickle');
      const sent = Date.now();
      sentAt.push(sent);
      void mqtt.publish(reading);
      storedAfter.push(
        pollUntil(async () => (await events.findOne({ _id: reading.id as never }, { projection: { _id: 1 } })) !== null, { timeoutMs: 60_000, intervalMs: 20 }).then(
          () => Date.now() - sent,
        ),
      );
      progress.update(clients + k + 1);
    }
    const stored = await Promise.all(storedAfter);
    // The last reading's events, or what arrived of them within 10 s.
    await waitUntil('the last events', async () => streams.every((stream) => stream.counted() >= seconds), { timeoutMs: 10_000, intervalMs: 50 }).catch(() => undefined);
    const elapsed = (performance.now() - started) / 1000;
    const after = await metrics();
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const missing = streams.reduce((sum, stream) => sum + Math.max(0, seconds - stream.counted()), 0);
    if (missing > 0) throw new Error(`${missing} of ${seconds * clients} trickle events never reached their clients`);
    const ticks = delta('tally_api_stream_tick_store_seconds_count');
    progress.finish(`p99 ${Math.round(percentiles(latencies).p99)} ms`);
    return {
      clients,
      seconds: round(elapsed),
      trickle: seconds,
      latencyMs: { ...percentiles(latencies), samples: latencies.length },
      storedMs: percentiles(stored),
      storeQueriesPerSecond: round(delta('tally_api_store_queries_total') / elapsed),
      tickStoreMs: round(ticks > 0 ? (delta('tally_api_stream_tick_store_seconds_sum') / ticks) * 1000 : 0),
      eventsPerSecond: Math.round(delta('tally_api_stream_events_total') / elapsed),
      processorPerSecond: Math.round((load.published - loadBefore) / elapsed),
      apiCpuCores: round((readCpuSeconds(apiPid) - cpuBefore) / elapsed),
    };
  } finally {
    progress.abort();
    for (const stream of streams) stream.close();
  }
}

interface Stream {
  /** Readings in the window, once the first event came. */
  total: number | undefined;
  baseline: number;
  /** Trickle readings counted since the baseline. */
  counted(): number;
  close(): void;
}

/** A client of the stream: keeps the window's points, and times each trickle reading from its publish to the event that counts it. */
function openStream(url: string, sentAt: readonly number[], latencies: number[]): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const points = new Map<number, number>();
    let text = '';
    const stream: Stream = {
      total: undefined,
      baseline: 0,
      counted: () => (stream.total ?? 0) - stream.baseline,
      close: () => req.destroy(),
    };
    const onEvent = (type: string, data: string) => {
      const body = JSON.parse(data) as { start_time: string; end_time: string; points: { start: string; counts: Record<string, number> }[] };
      if (type === 'series') points.clear();
      for (const point of body.points) points.set(Date.parse(point.start), Object.values(point.counts).reduce((sum, count) => sum + count, 0));
      const [start, end] = [Date.parse(body.start_time), Date.parse(body.end_time)];
      for (const at of points.keys()) if (at < start || at >= end) points.delete(at);
      const before = stream.counted();
      stream.total = [...points.values()].reduce((sum, count) => sum + count, 0);
      const now = Date.now();
      for (let k = Math.max(0, before); k < Math.min(stream.counted(), sentAt.length); k++) latencies.push(now - (sentAt[k] as number));
    };
    const req = request(url, { agent: false }, (response: IncomingMessage) => {
      if (response.statusCode !== 200) return reject(new Error(`The stream answered ${response.statusCode}`));
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        let blank: number;
        while ((blank = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, blank);
          text = text.slice(blank + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data !== undefined) onEvent(/^event: (.*)$/m.exec(block)?.[1] ?? 'message', data);
        }
      });
      response.on('error', () => undefined);
      resolve(stream);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The API's metrics: each sample's value, summed over its labels. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (match) values.set(match[1] as string, (values.get(match[1] as string) ?? 0) + Number(match[2]));
  }
  return values;
}
