import { describeError, exitOnStartupError, settlesWithin, type Logger, type ProcessorConfig } from '@tally/config';
import {
  BrokerState,
  createAmqpConnection,
  createBatchConsumer,
  createDeadLetterPublisher,
  MessagingError,
  watchAmqp,
} from '@tally/messaging';
import { createMongoConnection, createStatusEventStore, retryUntilDone, type StatusEvent } from '@tally/store';
import { createBatchHandler } from './batch-handler';
import { startHealthServer } from './health';
import { runRollupRefresher } from './rollup-refresher';
import { createStats } from './stats';

/** Buckets per level one refresh recomputes: a backlog's thousands take a few rounds of well under a second. */
const REFRESH_LIMIT = 5000;

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
 * The processor: consumes `tally.status` in batches, stores each reading once (its id makes a
 * redelivery a duplicate), dead-letters what can never be stored with its reason, keeps the
 * rollups refreshed, and serves `/healthz` and `/readyz` when `healthPort` is set.
 */
export async function createProcessor(config: ProcessorConfig, logger: Logger, hooks: ProcessorHooks = {}): Promise<Processor> {
  const stats = createStats(logger);
  const stopping = new AbortController();

  const mongo = createMongoConnection({ uri: config.mongodbUri });
  const store = createStatusEventStore({ db: mongo.db, afterRawInsert: hooks.afterRawInsert });
  // Nothing is written before this is done: on first use it decides whether the rollups can hold
  // every reading, which readings written before it would make untrue.
  const storeReady = retryUntilDone(() => store.ensureIndexes(), {
    backoff: { minMs: 1000, maxMs: 5000 },
    onError: (error, _attempt, retryInMs) => logger.warn({ err: describeError(error), retryInMs }, 'cannot create indexes yet'),
    signal: stopping.signal,
  });
  storeReady.catch(() => undefined);

  // Dead letters are published over this connection; the consumer has one of its own.
  const amqp = createAmqpConnection({ url: config.amqpUrl, connectionName: 'tally-processor-dead-letters' });
  const broker = new BrokerState();
  watchAmqp(amqp, broker);
  broker.on('down', (error) => logger.warn({ err: describeError(error) }, 'broker unreachable: reconnecting'));
  broker.on('up', () => logger.info('broker back'));
  const deadLetters = createDeadLetterPublisher(amqp);

  let mongoFailing = false;
  /** Writes a batch, retrying while MongoDB is down or hanging: its messages stay unacked meanwhile. */
  const insert = async (events: readonly StatusEvent[]) => {
    await storeReady;
    return retryUntilDone(() => store.insertReadings(events), {
      onError: (error, attempt, retryInMs) => {
        if (mongoFailing) return logger.debug({ attempt, retryInMs }, 'MongoDB write failed again');
        mongoFailing = true;
        logger.warn({ err: describeError(error), retryInMs }, 'MongoDB write failed: holding messages unacked, retrying');
      },
      onRecovered: (failingForMs) => {
        if (!mongoFailing) return;
        mongoFailing = false;
        logger.info({ outageMs: failingForMs }, 'MongoDB writes succeed again');
      },
      signal: stopping.signal,
    });
  };

  const consumer = createBatchConsumer({
    url: config.amqpUrl,
    connectionName: 'tally-processor',
    prefetch: config.prefetch,
    batchSize: config.batchSize,
    maxWaitMs: config.batchMaxWaitMs,
    handleBatch: createBatchHandler({
      insert,
      deadLetter: (message, reason) => deadLetters.deadLetter(message, reason),
      stats,
      onDeadLetterFailing: (failing, error) =>
        failing
          ? logger.warn({ err: describeError(error) }, 'cannot dead-letter: returning messages to the queue')
          : logger.info('dead-lettering succeeds again'),
    }),
  });
  // One line per change of state: an outage is logged when it starts and when it ends, not per retry.
  let hasConsumed = false;
  let consumerFailing = false;
  consumer.on('ready', () => {
    hasConsumed = true;
    consumerFailing = false;
    logger.info({ prefetch: config.prefetch, batchSize: config.batchSize }, 'consuming');
  });
  consumer.on('down', () => logger.warn('not consuming: subscribing again'));
  consumer.on('error', (error) => {
    // Credentials or a vhost the broker refuses are a configuration error when they never worked.
    if (!hasConsumed && error instanceof MessagingError && error.code === 'access_refused') exitOnStartupError(error, logger);
    if (consumerFailing) return logger.debug({ err: describeError(error) }, 'consumer error again');
    consumerFailing = true;
    logger.warn({ err: describeError(error) }, 'consumer error: retrying');
  });

  const refresher = runRollupRefresher({
    refresh: () => store.rollups.refresh({ limit: REFRESH_LIMIT }),
    intervalMs: config.rollupRefreshIntervalMs,
    signal: stopping.signal,
    onStateChange: (change) =>
      change.failing
        ? logger.warn({ err: describeError(change.error) }, 'rollup refresh failed: counts read changed buckets raw meanwhile')
        : logger.info('rollup refresh succeeds again'),
    onRefreshed: ({ refreshed, pending }) => logger.debug({ refreshed, pending }, 'rollups refreshed'),
  });

  const health =
    config.healthPort === undefined
      ? undefined
      : await startHealthServer({
          port: config.healthPort,
          host: config.healthHost,
          // Ready while it consumes and MongoDB takes its writes (and answers a ping within 2 s).
          readiness: async () => {
            const mongodb = !mongoFailing && (await mongo.ping()) ? 'ok' : 'failing';
            const consuming = consumer.consuming;
            return { ready: consuming && mongodb === 'ok', detail: { consuming, mongodb } };
          },
          onBadRequest: (info) => logger.warn(info, 'bad request'),
        });
  if (health) logger.info({ host: config.healthHost, port: health.port }, 'serving /healthz and /readyz');

  return {
    healthPort: health?.port,
    close: async () => {
      // Stop deliveries, and write what is pending now so that its messages can be acked. What
      // cannot be written in time (MongoDB down) stays unacked: the broker delivers it again.
      if (!(await settlesWithin(consumer.close(), 7000))) {
        logger.warn('shutdown did not finish in 7 s: whatever is unacked will be delivered again');
      }
      stopping.abort();
      await refresher;
      stats.summary();
      await health?.close();
      await deadLetters.close();
      await amqp.close();
      await mongo.close();
    },
  };
}
