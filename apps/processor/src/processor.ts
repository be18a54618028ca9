import type { ProcessorConfig } from '@tally/config';
import { describeError, exitOnStartupError, settlesWithin, type Logger } from '@tally/runtime';
import {
  BrokerState,
  changesOf,
  createAmqpConnection,
  createChangeAnnouncer,
  createBatchConsumer,
  type BatchConsumer,
  createDeadLetterPublisher,
  MessagingError,
  watchAmqp,
} from '@tally/messaging';
import { renderMetrics, type MetricsText } from '@tally/metrics';
import { createMongoConnection, createStatusEventStore } from '@tally/store';
import { createBatchHandler } from './batch-handler';
import { startHealthServer, type HealthServer } from './health';
import { createProcessorMetrics } from './metrics';
import { runRawRetention } from './raw-retention';
import { runRollupRefresher } from './rollup-refresher';
import { createStats } from './stats';
import { createStoreWriter } from './store-writer';

/** Buckets per level one refresh recomputes: a backlog's thousands take a few rounds of well under a second. */
const REFRESH_LIMIT = 5000;
/** Longest one refresh may take: shutdown waits for the one in progress, also when MongoDB hangs. */
const REFRESH_TIMEOUT_MS = 5000;
/** The processor has a backlog while it handled a full batch this recently: rollup refreshes then wait. */
const BACKLOG_WINDOW_MS = 1000;

/** Seams for tests: what a deployment never sets. */
export interface ProcessorHooks {
  /** Runs right after each raw insert, before the rollups are marked (the fault suite crashes here). */
  afterRawInsert?: () => void;
}

export interface Processor {
  /** The health server's port, when `healthPort` is set. */
  healthPort: number | undefined;
  /**
   * Stops deliveries, writes and acks what is pending (7 s at most: what is not written by then
   * stays unacked and comes again), logs the `summary` line and closes every connection.
   */
  close(): Promise<void>;
}

/**
 * The processor: consumes every partition `tally.status.<i>` in batches, stores each reading once (its id makes a
 * redelivery a duplicate), announces what each batch changed on `tally.changes` (for live viewers),
 * dead-letters what can never be stored with its reason, keeps the
 * rollups refreshed, and serves `/healthz` and `/readyz` when `healthPort` is set.
 */
export async function createProcessor(config: ProcessorConfig, logger: Logger, hooks: ProcessorHooks = {}): Promise<Processor> {
  const stats = createStats(logger);
  const metrics = createProcessorMetrics({
    consuming: () => consumer.consuming,
    mongoFailing: () => writer.failing,
    totals: () => stats.total,
  });
  const stopping = new AbortController();
  const stoppingRefreshes = new AbortController();

  const mongo = createMongoConnection({ uri: config.mongodbUri });
  const store = createStatusEventStore({ db: mongo.db, afterRawInsert: hooks.afterRawInsert });
  const writer = createStoreWriter(metrics.timingInserts(store), logger, stopping.signal, {
    onFatal: (error) => exitOnStartupError(error, logger),
  });

  // Dead letters and announcements are published over this connection; the consumer has one of its own.
  const amqp = createAmqpConnection({ url: config.amqpUrls, connectionName: 'tally-processor-dead-letters' });
  const broker = new BrokerState();
  watchAmqp(amqp, broker);
  broker.on('down', (error) => logger.warn({ err: describeError(error) }, 'broker unreachable: reconnecting'));
  broker.on('up', () => logger.info('broker back'));
  const deadLetters = createDeadLetterPublisher(amqp);
  const announcer = createChangeAnnouncer(amqp, { onDropped: (reason) => metrics.announcementDropped(reason) });

  const handleBatch = createBatchHandler({
    insert: writer.insert,
    deadLetter: (message, reason) => deadLetters.deadLetter(message, reason),
    stats,
    onStored: (events) => announcer.announce(changesOf(events)),
    onDeadLetterFailing: (failing, error) =>
      failing
        ? logger.warn({ err: describeError(error) }, 'cannot dead-letter: returning messages to the queue')
        : logger.info('dead-lettering succeeds again'),
  });
  // A full batch means readings were waiting (with batches of one, every batch is full: no signal).
  let fullBatchAt = -Infinity;
  const consumer = createBatchConsumer({
    url: config.amqpUrls,
    connectionName: 'tally-processor',
    partitions: config.partitions,
    prefetch: config.prefetch,
    batchSize: config.batchSize,
    maxWaitMs: config.batchMaxWaitMs,
    handleBatch: (messages) => {
      if (config.batchSize > 1 && messages.length >= config.batchSize) fullBatchAt = Date.now();
      return handleBatch(messages);
    },
  });
  logConsumerStates(consumer, config, logger);

  const refresher = runRollupRefresher({
    refresh: () => store.rollups.refresh({ limit: REFRESH_LIMIT, timeoutMs: REFRESH_TIMEOUT_MS }),
    intervalMs: config.rollupRefreshIntervalMs,
    busy: () => Date.now() - fullBatchAt < BACKLOG_WINDOW_MS,
    signal: stoppingRefreshes.signal,
    onStateChange: (change) =>
      change.failing
        ? logger.warn({ err: describeError(change.error) }, 'rollup refresh failed: counts read changed buckets raw meanwhile')
        : logger.info('rollup refresh succeeds again'),
    onRefreshed: ({ refreshed, pending }) => logger.debug({ refreshed, pending }, 'rollups refreshed'),
  });

  const retention =
    config.rawRetentionMs === undefined
      ? undefined
      : runRawRetention({
          expire: store.rollups.expireRaw,
          retentionMs: config.rawRetentionMs,
          signal: stoppingRefreshes.signal,
          onStep: (result) =>
            result.state === 'expired'
              ? logger.info({ from: result.hour, until: result.end, deleted: result.deleted }, 'raw readings expired')
              : result.state === 'waiting'
                ? logger.warn({ hour: result.hour, reason: result.reason }, 'raw readings cannot expire yet')
                : logger.debug({ by: result.state === 'held' ? result.by : undefined }, 'raw expiry held by another processor'),
          onError: (error) => logger.warn({ err: describeError(error) }, 'raw expiry failed: retried in a minute'),
        });

  /** Stops deliveries, writes and acks what is pending, and closes every connection. */
  const stop = async () => {
    // No new refresh or expiry step; those in progress end within REFRESH_TIMEOUT_MS or a batch, while deliveries stop.
    stoppingRefreshes.abort();
    // What cannot be written in time (MongoDB down) stays unacked: the broker delivers it again.
    if (!(await settlesWithin(consumer.close(), 7000))) {
      logger.warn('shutdown did not finish in 7 s: whatever is unacked will be delivered again');
    }
    stopping.abort();
    await refresher;
    await retention;
    stats.summary();
    await deadLetters.close();
    await announcer.close();
    await amqp.close();
    await mongo.close();
  };

  let health: HealthServer | undefined;
  try {
    health =
      config.healthPort === undefined
        ? undefined
        : await startProbes({ port: config.healthPort, host: config.healthHost }, logger, {
            // Ready while it consumes and MongoDB takes its writes (and answers a ping within 2 s).
            consuming: () => consumer.consuming,
            mongodbOk: async () => !writer.failing && (await mongo.ping()),
            metrics: () => renderMetrics(metrics.registry),
          });
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    healthPort: health?.port,
    close: async () => {
      await health?.close();
      await stop();
    },
  };
}

/** One line per change of the consumer's state: an outage is logged when it starts and when it ends, not per retry. */
function logConsumerStates(consumer: BatchConsumer, config: ProcessorConfig, logger: Logger): void {
  let hasConsumed = false;
  let failing = false;
  consumer.on('ready', (retired) => {
    hasConsumed = true;
    failing = false;
    logger.info({ partitions: config.partitions, prefetch: config.prefetch, batchSize: config.batchSize }, 'consuming');
    if (retired.length > 0) logger.info({ queues: retired }, 'draining queues that no partition binding reaches any more: each is deleted once empty');
  });
  consumer.on('deleted', (queue) => logger.info({ queue }, 'drained and deleted'));
  consumer.on('down', () => logger.warn('not consuming: subscribing again'));
  consumer.on('careful', (messages) =>
    logger.warn(
      { messages },
      'the broker closed the connection while delivering (a routing key over 255 bytes?): taking the next messages one at a time until the queue dead-letters the one it cannot deliver',
    ),
  );
  consumer.on('error', (error) => {
    // Credentials or a vhost the broker refuses, or a plugin it lacks, are a configuration error when they never worked.
    if (!hasConsumed && error instanceof MessagingError && error.code !== 'subscribe_failed') exitOnStartupError(error, logger);
    if (failing) return logger.debug({ err: describeError(error) }, 'consumer error again');
    failing = true;
    logger.warn({ err: describeError(error) }, 'consumer error: retrying');
  });
}

/** `/healthz`, `/readyz` and `/metrics` on `port`: ready while it consumes and MongoDB is ok. */
async function startProbes(
  { port, host }: { port: number; host: string },
  logger: Logger,
  state: { consuming: () => boolean; mongodbOk: () => Promise<boolean>; metrics: () => Promise<MetricsText> },
) {
  const health = await startHealthServer({
    port,
    host,
    readiness: async () => {
      const mongodb = (await state.mongodbOk()) ? 'ok' : 'failing';
      const consuming = state.consuming();
      return { ready: consuming && mongodb === 'ok', detail: { consuming, mongodb } };
    },
    metrics: state.metrics,
    onBadRequest: (info) => logger.warn(info, 'bad request'),
  });
  logger.info({ host, port: health.port }, 'serving /healthz and /readyz');
  return health;
}
