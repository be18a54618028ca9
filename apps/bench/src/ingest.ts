import { VARIABLES } from '@tally/config';
import { fleetDeviceIds, statusEventFor } from '@tally/contract';
import { createTestVhost, pollUntil, waitUntil, withDatabase, type DevstackUrls, type TestVhost } from '@tally/devstack';
import {
  createAmqpConnection,
  createReadingPublisher,
  DEAD_LETTER_QUEUE,
  partitionQueues,
  randomReading,
  type Transport,
} from '@tally/messaging';
import { createStatusEventStore, ROLLUP_LEVELS, STATUS_EVENTS_COLLECTION } from '@tally/store';
import type { Db, Document } from 'mongodb';
import { sleep, startBundle, stopApp, type BenchContext } from './context';
import { readCpuSeconds, readPeakRssMb } from './proc';
import { startProgress } from './progress';
import { perSecond, round } from './stats';

/** Readings are one second apart from here: the same shape of data in every sub-run. */
const READINGS_START = Date.parse('2026-01-01T00:00:00Z');
/** Publishes awaiting their broker acknowledgement at once (what the broadcaster's `--rate` mode uses). */
export const PUBLISH_WINDOW = 1000;
/** Documents per insertMany of the direct loop (the processor's default BATCH_SIZE). */
export const DIRECT_BATCH = 500;
/** The processor's environment in naive mode: one message in flight, one insert and one ack each. */
export const NAIVE_ENV = { PROCESSOR_PREFETCH: '1', BATCH_SIZE: '1', BATCH_MAX_WAIT_MS: '0' };
/** The partitions of a deployment that does not set TALLY_PARTITIONS: those of the ingest runs. */
export const DEFAULT_PARTITIONS = Number(VARIABLES.TALLY_PARTITIONS.default);
/** A drain whose stored count does not grow for this long has failed. */
const STALL_MS = 60_000;
const POLL_MS = 50;

export interface RateResult {
  readings: number;
  seconds: number;
  perSecond: number;
}

export interface PublishResult extends RateResult {
  transport: Transport;
  /** Messages in the queue once every publish was acknowledged. */
  queued: number;
}

export interface DrainResult extends RateResult {
  /** The processor's extra environment (the naive settings, or none). */
  env: Record<string, string>;
  /** Documents stored at the end, counted with countDocuments. */
  stored: number;
  /** The processors' user + system CPU time over the drain, all together. */
  cpuSeconds: number;
  /** Each processor's. */
  processorCpuSeconds: number[];
  /** Each broker process's (`brokerPids`), over the same time. */
  brokerCpuSeconds: number[];
  /** `cpuSeconds / seconds`: cores kept busy on average. */
  cpuCores: number;
  /** The processor's VmHWM once its rollups settled (the drain and the refreshes after it). */
  peakRssMb: number;
  /** Seconds from spawning the processor to its consumer appearing on the queue (not in `seconds`). */
  startupSeconds: number;
  /** Exit code after SIGTERM (0: graceful). */
  exitCode: number | null;
  /** Seconds from the end of the drain until no rollup bucket was dirty (the processor refreshes them; not in `seconds`). */
  rollupsSettledSeconds: number;
}

export interface QueueRun {
  publish: PublishResult;
  drain: DrainResult;
}

export interface IngestResult {
  /** Devices the readings came from. */
  devices: number;
  direct: RateResult;
  amqp: QueueRun;
  mqtt: QueueRun;
  naive: QueueRun;
  ratios: {
    amqpToDirect: number;
    mqttToDirect: number;
    amqpToNaive: number;
  };
}

export interface IngestOptions {
  readings: number;
  naiveReadings: number;
  /** `NODE_OPTIONS` of the processor ("" for none). */
  processorNodeOptions: string;
  /** Devices the readings come from, round robin, each on its own topic (`status.<device>`). */
  devices: number;
}

/** The direct insertMany ceiling, then the processor draining AMQP- and MQTT-filled queues, then naive. */
export async function runIngest(context: BenchContext, options: IngestOptions): Promise<IngestResult> {
  const devices = fleetDeviceIds(options.devices);
  const direct = await measureDirect(context, options.readings, devices);
  const run = (label: string, transport: Transport, readings: number, env: Record<string, string> = {}) =>
    measureQueueRun(context, { label, transport, readings, devices, partitions: DEFAULT_PARTITIONS, env, nodeOptions: options.processorNodeOptions });
  const amqp = await run('amqp', 'amqp', options.readings);
  const mqtt = await run('mqtt', 'mqtt', options.readings);
  const naive = await run('naive', 'amqp', options.naiveReadings, NAIVE_ENV);
  return {
    devices: devices.length,
    direct,
    amqp,
    mqtt,
    naive,
    ratios: {
      amqpToDirect: round(amqp.drain.perSecond / direct.perSecond, 3),
      mqttToDirect: round(mqtt.drain.perSecond / direct.perSecond, 3),
      amqpToNaive: round(amqp.drain.perSecond / naive.drain.perSecond, 1),
    },
  };
}

/** The reading numbered `n` of a sub-run: from device n mod the fleet's size, as a fleet reporting in turn. */
function reading(n: number, devices: readonly string[]) {
  return randomReading(new Date(READINGS_START + n * 1000), devices[n % devices.length]);
}

/**
 * A plain loop of unordered insertMany, batches of 500, of the documents the processor writes,
 * into a fresh collection with the processor's index: what the MongoDB-wire server allows one writer.
 */
async function measureDirect(context: BenchContext, readings: number, devices: readonly string[]): Promise<RateResult> {
  const db = context.mongo.db(`bench_${context.runId}_direct`);
  const dropDatabase = context.cleanup.defer(() => db.dropDatabase());
  const progress = startProgress({ label: 'direct insertMany', total: readings });
  try {
    const store = createStatusEventStore({ db });
    await store.ensureIndexes();
    const started = performance.now();
    for (let i = 0; i < readings; i += DIRECT_BATCH) {
      const batch = Array.from({ length: Math.min(DIRECT_BATCH, readings - i) }, (_, j) => {
        const next = reading(i + j, devices);
        return statusEventFor(next, { device: next.device, receivedAt: new Date() });
      });
      await store.collection.insertMany(batch, { ordered: false });
      progress.update(i + batch.length);
    }
    const seconds = (performance.now() - started) / 1000;
    const stored = await store.collection.countDocuments();
    if (stored !== readings) throw new Error(`direct insertMany stored ${stored} of ${readings} documents`);
    const rate = perSecond(readings, seconds);
    progress.finish(`${rate.toLocaleString('en-US')} readings/s`);
    return { readings, seconds: round(seconds), perSecond: rate };
  } finally {
    progress.abort();
    await dropDatabase();
  }
}

interface QueueRunOptions {
  /** Names the sub-run's database and progress bars. */
  label: string;
  transport: Transport;
  readings: number;
  /** Readings come from these devices in turn, each published to its own topic. */
  devices: readonly string[];
  /** `TALLY_PARTITIONS` of the publisher and the processors. */
  partitions: number;
  /** Processors draining side by side. @default 1 */
  processors?: number;
  /** The broker's processes (its nodes'), whose CPU time over the drain is measured. @default none */
  brokerPids?: readonly number[];
  /** Where the vhost is made. @default the devstack's */
  urls?: DevstackUrls;
  /** `AMQP_URL` of processor `index`, from the vhost's. @default the vhost's */
  processorAmqpUrl?: (vhostUrl: string, index: number) => string;
  /** Runs once the partitions are filled, before the drain, with the vhost's name. */
  onFilled?: (vhost: string) => Promise<void>;
  env: Record<string, string>;
  nodeOptions: string;
}

/** Messages ready in every partition together, and the fewest consumers any partition has. */
export async function partitionsState(connection: ReturnType<typeof createAmqpConnection>, partitions: number): Promise<{ messageCount: number; consumerCount: number }> {
  const states = await Promise.all(partitionQueues(partitions).map((queue) => connection.queueDeclare({ queue, passive: true })));
  return {
    messageCount: states.reduce((sum, state) => sum + state.messageCount, 0),
    consumerCount: Math.min(...states.map((state) => state.consumerCount)),
  };
}

/** Rollup buckets of every level still waiting for a refresh. */
async function dirtyBuckets(db: Db): Promise<number> {
  const counts = await Promise.all(ROLLUP_LEVELS.map((level) => db.collection(level.collection).countDocuments({ dirty: true })));
  return counts.reduce((sum, count) => sum + count, 0);
}

/** Fills the partitions of a fresh vhost, then starts the processors and times them emptying them. */
export async function measureQueueRun(context: BenchContext, options: QueueRunOptions): Promise<QueueRun> {
  const vhost = await createTestVhost(options.urls ?? context.urls, 'bench');
  const dispose = context.cleanup.defer(() => vhost.dispose());
  try {
    const publish = await fillQueue(context, vhost, options);
    await options.onFilled?.(vhost.name);
    const drain = await drainQueue(context, vhost, options);
    return { publish, drain };
  } finally {
    await dispose();
  }
}

/** Publishes `readings` readings into the vhost's partitions, as fast as confirms allow. */
export async function fillQueue(
  context: BenchContext,
  vhost: TestVhost,
  { label, transport, readings, devices, partitions }: Pick<QueueRunOptions, 'label' | 'transport' | 'readings' | 'devices' | 'partitions'>,
): Promise<PublishResult> {
  const connection = createAmqpConnection({ url: vhost.amqpUrl, connectionName: 'tally-bench-publisher' });
  connection.on('error', () => undefined); // it reconnects by itself; a publish that fails says why
  const publisher = createReadingPublisher(
    transport === 'amqp'
      ? { transport, connection, partitions }
      : { transport, connection, partitions, mqttUrl: vhost.mqttUrl, clientId: `tally-bench-${vhost.name}` },
  );
  const close = context.cleanup.defer(async () => {
    await publisher.close();
    await connection.close();
  });
  const progress = startProgress({ label: `${label}: publish over ${transport.toUpperCase()}`, total: readings });
  try {
    const started = performance.now();
    let next = 0;
    let acknowledged = 0;
    const worker = async () => {
      while (next < readings) {
        await publisher.publish(reading(next++, devices));
        progress.update(++acknowledged);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PUBLISH_WINDOW, readings) }, worker));
    const seconds = (performance.now() - started) / 1000;
    // An acknowledged publish is enqueued; the count is read until it shows them all, or 10 s.
    let queued = 0;
    await pollUntil(async () => {
      queued = (await partitionsState(connection, partitions)).messageCount;
      return queued >= readings;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    const rate = perSecond(readings, seconds);
    progress.finish(`${rate.toLocaleString('en-US')} readings/s, ${queued.toLocaleString('en-US')} queued`);
    return { transport, readings, seconds: round(seconds), perSecond: rate, queued };
  } finally {
    progress.abort();
    await close();
  }
}

async function drainQueue(context: BenchContext, vhost: TestVhost, options: QueueRunOptions): Promise<DrainResult> {
  const { label, readings, env, nodeOptions, partitions, processors: processorCount = 1, brokerPids = [] } = options;
  const processorAmqpUrl = options.processorAmqpUrl ?? ((url: string) => url);
  const db = context.mongo.db(`bench_${context.runId}_${label}`);
  const dropDatabase = context.cleanup.defer(() => db.dropDatabase());
  const events = db.collection<Document>(STATUS_EVENTS_COLLECTION);
  const watch = createAmqpConnection({ url: vhost.amqpUrl, connectionName: 'tally-bench-watch' });
  watch.on('error', () => undefined); // it reconnects by itself; a declare that fails says why
  const closeWatch = context.cleanup.defer(() => watch.close());
  const queue = () => partitionsState(watch, partitions);

  const spawned = performance.now();
  const processors = Array.from({ length: processorCount }, (_, index) =>
    startBundle(context, {
      app: 'processor',
      env: {
        AMQP_URL: processorAmqpUrl(vhost.amqpUrl, index),
        MONGODB_URI: withDatabase(context.urls.mongodbUri, db.databaseName),
        TALLY_PARTITIONS: String(partitions),
        ...(nodeOptions && { NODE_OPTIONS: nodeOptions }),
        ...env,
      },
    }),
  );
  const stop = context.cleanup.defer(async () => void (await Promise.all(processors.map((processor) => stopApp(processor)))));
  let exited = false;
  let exitedWith: number | null = null;
  for (const processor of processors) {
    void processor.exited.then((code) => {
      exited = true;
      exitedWith = code;
    });
  }
  const pids = processors.map((processor) => processor.pid ?? 0);
  const progress = startProgress({ label: `${label}: ${processorCount > 1 ? `${processorCount} processors drain` : 'processor drains'}`, total: readings });
  try {
    // The clock starts once every processor consumes: loading the bundle and connecting is not draining.
    await waitUntil('the processors to consume', async () => (await queue()).consumerCount >= processorCount, {
      timeoutMs: 60_000 - (performance.now() - spawned),
      intervalMs: 20,
      abort: () => (exited ? new Error('A processor exited before consuming') : undefined),
    });
    const started = performance.now();
    const cpuBefore = pids.map((pid) => readCpuSeconds(pid));
    const brokerCpuBefore = brokerPids.map((pid) => readCpuSeconds(pid));

    let stored = 0;
    let grewAt = started;
    for (;;) {
      const { messageCount, consumerCount } = await queue();
      // Progress is what left the queue (a cheap broker call) until it is empty; then the documents
      // are counted exactly (only the last batches are left then). Not with $collStats: on DocumentDB
      // its count is PostgreSQL's row estimate, which caught up only at the next autovacuum (a drain
      // of 6 s measured 64 s once).
      const now = messageCount > 0 ? readings - messageCount : await events.countDocuments();
      if (now > stored) {
        stored = now;
        grewAt = performance.now();
        progress.update(stored);
      }
      if (messageCount === 0 && consumerCount > 0 && stored >= readings) break;
      if (exited) throw new Error(`A processor exited while draining (code ${exitedWith})`);
      if (performance.now() - grewAt > STALL_MS) {
        const dead = (await watch.queueDeclare({ queue: DEAD_LETTER_QUEUE, passive: true })).messageCount;
        throw new Error(
          `The drain stalled: ${stored} of ${readings} stored, ${messageCount} still queued, ` +
            `${dead} dead-lettered, no progress for ${STALL_MS / 1000} s`,
        );
      }
      await sleep(POLL_MS);
    }
    const seconds = (performance.now() - started) / 1000;
    const processorCpuSeconds = pids.map((pid, i) => readCpuSeconds(pid) - (cpuBefore[i] as number));
    const brokerCpuSeconds = brokerPids.map((pid, i) => readCpuSeconds(pid) - (brokerCpuBefore[i] as number));
    const cpuSeconds = processorCpuSeconds.reduce((sum, each) => sum + each, 0);
    // Refreshes wait while the processor has a backlog: then they catch up.
    await waitUntil('the rollups to settle', async () => (await dirtyBuckets(db)) === 0, {
      timeoutMs: 120_000,
      intervalMs: 100,
      abort: () => (exited ? new Error(`The processor exited (code ${exitedWith}) before its rollups settled: its output is above`) : undefined),
    });
    const rollupsSettledSeconds = (performance.now() - started) / 1000 - seconds;
    // After the refreshes that catch up with the backlog: they, not the drain, held the most.
    const peakRssMb = Math.max(...pids.map((pid) => readPeakRssMb(pid)));
    const [exitCode = null] = await Promise.all(processors.map((processor) => stopApp(processor)));
    const verified = await events.countDocuments();
    const rate = perSecond(readings, seconds);
    progress.finish(`${rate.toLocaleString('en-US')} readings/s, ${(cpuSeconds / seconds).toFixed(2)} cores`);
    return {
      env,
      readings,
      stored: verified,
      seconds: round(seconds),
      perSecond: rate,
      cpuSeconds: round(cpuSeconds),
      processorCpuSeconds: processorCpuSeconds.map((each) => round(each)),
      brokerCpuSeconds: brokerCpuSeconds.map((each) => round(each)),
      cpuCores: round(cpuSeconds / seconds),
      peakRssMb: Math.round(peakRssMb),
      startupSeconds: round((started - spawned) / 1000),
      exitCode,
      rollupsSettledSeconds: round(rollupsSettledSeconds),
    };
  } finally {
    progress.abort();
    await closeWatch();
    await stop();
    await dropDatabase();
  }
}
