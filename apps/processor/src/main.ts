import { createLogger, describeError, exitOnStartupError, loadProcessorConfig, onShutdown, type Logger } from '@tally/config';
import {
  BrokerState,
  createAmqpConnection,
  createBatchConsumer,
  createDeadLetterPublisher,
  decode,
  MessagingError,
  readingId,
  settlesWithin,
  watchAmqp,
  type Delivery,
} from '@tally/messaging';
import { renderMetrics } from '@tally/metrics';
import { createMongoConnection, createStatusEventStore, retryUntilDone, type StatusEvent } from '@tally/store';
import { startHealthServer } from './health';
import { createProcessorMetrics } from './metrics';
import { parseRebuildArgs, REBUILD_USAGE, rebuildRollups, type RebuildArgs } from './rebuild';
import { runRollupRefresher } from './rollup-refresher';

/** Buckets per level one refresh recomputes: a backlog's thousands take a few rounds of well under a second. */
const REFRESH_LIMIT = 5000;

/** Set once the logger exists, so that a start-up failure after that is logged (one line). */
let startupLogger: Logger | undefined;

async function main(): Promise<void> {
  let rebuild: RebuildArgs | undefined;
  try {
    rebuild = parseRebuildArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${REBUILD_USAGE}\n`);
    process.exit(2);
  }
  const config = loadProcessorConfig();
  const logger = createLogger({ name: 'processor', level: config.logLevel });
  startupLogger = logger;
  if (rebuild) return runRebuild(config.mongodbUri, rebuild, logger);
  const metrics = createProcessorMetrics({ consuming: () => consumer.consuming, mongoFailing: () => mongoFailing });
  const stats = metrics.counting(statsLog(logger));
  const stopping = new AbortController();

  const mongo = createMongoConnection({ uri: config.mongodbUri });
  const store = createStatusEventStore({
    db: mongo.db,
    afterRawInsert: config.testHooks.killAfterInsert ? () => process.kill(process.pid, 'SIGKILL') : undefined,
  });
  // Nothing is written before this is done: on first use it decides whether the rollups can hold
  // every reading, which readings written before it would make untrue.
  const storeReady = retryUntilDone(() => store.ensureIndexes(), {
    backoff: { minMs: 1000, maxMs: 5000 },
    onError: (error, _attempt, retryInMs) =>
      logger.warn({ err: describeError(error), retryInMs }, 'cannot create indexes yet'),
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
    return retryUntilDone(() => metrics.timeInsert(events.length, () => store.insertReadings(events)), {
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

  let deadLetterFailing = false;
  /**
   * Dead-letters a message; resolves with it when that failed (it goes back to the queue), else
   * with `undefined`. Never rejects: a rejection left waiting while the batch is written would
   * end the process.
   */
  const deadLetter = (message: Delivery, reason: string, detail: string): Promise<Delivery | undefined> =>
    deadLetters.deadLetter(message, `${reason}: ${detail}`).then(
      () => {
        stats.deadLettered(reason);
        if (deadLetterFailing) logger.info('dead-lettering succeeds again');
        deadLetterFailing = false;
        return undefined;
      },
      (error: unknown) => {
        if (!deadLetterFailing) logger.warn({ err: describeError(error) }, 'cannot dead-letter: returning messages to the queue');
        deadLetterFailing = true;
        return message;
      },
    );

  /**
   * Settles every message of a batch: stored (now or before), or dead-lettered with its reason.
   * Resolves with those that could not be dead-lettered, which alone go back to the queue: the
   * others are acknowledged, so that no stored reading is delivered again (one without id and ts
   * would be stored again).
   */
  const handleBatch = async (messages: readonly Delivery[]): Promise<Delivery[]> => {
    const receivedAt = new Date();
    const events: StatusEvent[] = [];
    const sources: Delivery[] = [];
    const deadLettering: Promise<Delivery | undefined>[] = [];
    for (const message of messages) {
      const decoded = decode(message.content);
      if (!decoded.ok) {
        deadLettering.push(deadLetter(message, decoded.reason, decoded.detail));
        continue;
      }
      const { reading } = decoded;
      events.push({
        _id: readingId(reading, message.fields.routingKey),
        status: reading.status,
        ts: reading.ts ?? receivedAt,
        receivedAt,
      });
      sources.push(message);
    }
    const results = await insert(events);
    results.forEach((result, i) => {
      if (result.stored) stats.stored(result.duplicate);
      else deadLettering.push(deadLetter(sources[i] as Delivery, 'write_error', result.reason));
    });
    return (await Promise.all(deadLettering)).filter((message) => message !== undefined);
  };

  const consumer = createBatchConsumer({
    url: config.amqpUrl,
    connectionName: 'tally-processor',
    prefetch: config.prefetch,
    batchSize: config.batchSize,
    maxWaitMs: config.batchMaxWaitMs,
    handleBatch,
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
          metrics: () => renderMetrics(metrics.registry),
          onBadRequest: (info) => logger.warn(info, 'bad request'),
        });
  if (health) logger.info({ host: config.healthHost, port: health.port }, 'serving /healthz and /readyz');

  onShutdown(
    async () => {
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
    { logger, graceMs: 10_000 },
  );
}

/** `--rebuild-rollups`: rebuilds, logging each day, then exits; SIGINT/SIGTERM stop it between two days. */
async function runRebuild(mongodbUri: string, args: RebuildArgs, logger: Logger): Promise<void> {
  const mongo = createMongoConnection({ uri: mongodbUri });
  const stopping = new AbortController();
  onShutdown(async () => stopping.abort(), { logger });
  const store = createStatusEventStore({ db: mongo.db });
  const started = Date.now();
  try {
    const range = await rebuildRollups(
      store,
      args,
      ({ day, until, buckets, daysDone }) =>
        logger.info({ day: day.toISOString().slice(0, 10), minutesWithReadings: buckets, daysDone, downTo: until }, 'rebuilt a day'),
      stopping.signal,
    );
    if (range) logger.info({ from: range.start, to: range.end, seconds: (Date.now() - started) / 1000 }, 'rollups rebuilt');
    else logger.info('nothing to rebuild: the rollups hold every stored reading');
  } finally {
    await mongo.close();
  }
  process.exit(0);
}

interface Counts {
  stored: number;
  duplicates: number;
  deadLettered: Record<string, number>;
}

const noCounts = (): Counts => ({ stored: 0, duplicates: 0, deadLettered: {} });

/**
 * Counts what happened and logs it every 10 s, in aggregate (never one line per message), and in
 * total in a `summary` line at shutdown.
 */
function statsLog(logger: Logger) {
  let recent = noCounts();
  const total = noCounts();
  const flush = () => {
    if (recent.stored > 0) logger.info({ stored: recent.stored, duplicates: recent.duplicates }, 'stored readings');
    if (Object.keys(recent.deadLettered).length > 0) {
      logger.warn({ byReason: recent.deadLettered }, 'dead-lettered messages');
    }
    recent = noCounts();
  };
  setInterval(flush, 10_000).unref();
  return {
    stored(duplicate: boolean) {
      for (const counts of [recent, total]) {
        counts.stored++;
        if (duplicate) counts.duplicates++;
      }
    },
    deadLettered(reason: string) {
      for (const counts of [recent, total]) counts.deadLettered[reason] = (counts.deadLettered[reason] ?? 0) + 1;
    },
    summary() {
      flush();
      logger.info(total, 'summary');
    },
  };
}

main().catch((error: unknown) => exitOnStartupError(error, startupLogger));
