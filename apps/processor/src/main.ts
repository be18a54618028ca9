import { createLogger, exitOnStartupError, loadProcessorConfig, onShutdown, type Logger } from '@tally/config';
import {
  Batcher,
  bodyBytes,
  BrokerState,
  createAmqpConnection,
  createDeadLetterPublisher,
  createStatusConsumer,
  decode,
  readingId,
  settlesWithin,
  watchAmqp,
  type AsyncMessage,
} from '@tally/messaging';
import { createMongoConnection, createStatusEventStore, type InsertResult, type StatusEvent } from '@tally/store';

async function main(): Promise<void> {
  const config = loadProcessorConfig();
  const logger = createLogger({ name: 'processor', level: config.logLevel });
  const stats = statsLog(logger);

  const mongo = createMongoConnection({ uri: config.mongodbUri });
  const store = createStatusEventStore({ db: mongo.db });
  void ensureIndexes(() => store.ensureIndexes(), logger);

  const amqp = createAmqpConnection({ url: config.amqpUrl, connectionName: 'tally-processor' });
  const broker = new BrokerState();
  watchAmqp(amqp, broker);
  broker.on('down', (error) => logger.warn({ err: error.message }, 'broker unreachable: reconnecting'));
  broker.on('up', () => logger.info('broker back: consuming again'));
  const deadLetters = createDeadLetterPublisher(amqp);

  let mongoFailingLogged = false;
  const batcher = new Batcher<StatusEvent, InsertResult>({
    maxSize: config.batchSize,
    maxWaitMs: config.batchMaxWaitMs,
    concurrency: 2,
    flush: (events) => store.insertReadings(events),
    onFlushError: (error, attempt, retryInMs) => {
      if (!mongoFailingLogged) {
        mongoFailingLogged = true;
        logger.warn({ err: (error as Error).message, retryInMs }, 'MongoDB write failed: holding messages unacked, retrying');
      } else logger.debug({ attempt, retryInMs }, 'MongoDB write failed again');
    },
    onRecovered: (failingForMs) => {
      mongoFailingLogged = false;
      logger.info({ outageMs: failingForMs }, 'MongoDB writes succeed again');
    },
  });

  const handle = async (message: AsyncMessage) => {
    const receivedAt = new Date();
    const decoded = decode(bodyBytes(message.body));
    if (!decoded.ok) {
      await deadLetters.deadLetter(message, `${decoded.reason}: ${decoded.detail}`);
      stats.deadLettered(decoded.reason);
      return;
    }
    const { reading } = decoded;
    const result = await batcher.add({
      _id: readingId(reading, message.routingKey),
      status: reading.status,
      ts: reading.ts ?? receivedAt,
      receivedAt,
    });
    if (result.stored) stats.stored(result.duplicate);
    else {
      await deadLetters.deadLetter(message, `write_error: ${result.reason}`);
      stats.deadLettered('write_error');
    }
  };
  const consumer = createStatusConsumer({ connection: amqp, prefetch: config.prefetch, handle });
  consumer.on('ready', () => logger.info({ prefetch: config.prefetch, batchSize: config.batchSize }, 'consuming'));
  consumer.on('error', (error) => logger.error({ err: error }, 'consumer error'));

  onShutdown(
    async () => {
      // Stop deliveries, and write what is pending now so that its messages can be acked. What
      // cannot be written in time (MongoDB down) stays unacked: the broker delivers it again.
      const drained = Promise.all([consumer.close(), batcher.close()]);
      if (!(await settlesWithin(drained, 7000))) {
        logger.warn('shutdown did not finish in 7 s: whatever is unacked will be delivered again');
      }
      stats.summary();
      await deadLetters.close();
      await amqp.close();
      await mongo.close();
    },
    { logger, graceMs: 10_000 },
  );
}

async function ensureIndexes(create: () => Promise<void>, logger: Logger): Promise<void> {
  for (let delay = 1000; ; delay = Math.min(delay * 2, 30_000)) {
    try {
      await create();
      return;
    } catch (error) {
      logger.warn({ err: (error as Error).message, retryInMs: delay }, 'cannot create indexes yet');
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
    }
  }
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

main().catch((error: unknown) => exitOnStartupError(error));
