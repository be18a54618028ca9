import { randomUUID } from 'node:crypto';
import {
  BROADCASTER_USAGE,
  createLogger,
  describeError,
  exitOnStartupError,
  loadBroadcasterConfig,
  onShutdown,
  type Logger,
} from '@tally/config';
import {
  createAmqpConnection,
  createReadingPublisher,
  Outbox,
  randomReading,
  startTicker,
  STATUSES,
  type Reading,
  type Status,
} from '@tally/messaging';
import { startMetricsServer } from '@tally/metrics';
import { createBroadcasterMetrics } from './metrics';

async function main(): Promise<void> {
  const config = loadBroadcasterConfig({ argv: process.argv.slice(2) });
  if (config.help) {
    process.stdout.write(`${BROADCASTER_USAGE}\n`);
    return;
  }
  const logger = createLogger({ name: 'broadcaster', level: config.logLevel });

  const amqp = createAmqpConnection({ url: config.amqpUrl, connectionName: 'tally-broadcaster' });
  const publisher = createReadingPublisher(
    config.transport === 'mqtt'
      ? { transport: 'mqtt', connection: amqp, mqttUrl: config.mqttUrl, clientId: `tally-broadcaster-${randomUUID()}` }
      : { transport: 'amqp', connection: amqp },
  );
  const outages = outageLog(logger, config.bufferLimit);
  const sent = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<Status, number>;
  const outbox = new Outbox<Reading>({
    publish: async (reading) => {
      await publisher.publish(reading);
      sent[reading.status] += 1;
    },
    capacity: config.bufferLimit,
    window: config.window,
    onDrop: () => outages.dropped(),
  });
  publisher.on('down', (error) => outages.down(error));
  publisher.on('up', () => outages.up(outbox.waiting));
  const metrics =
    config.metricsPort === undefined
      ? undefined
      : await startMetricsServer({
          registry: createBroadcasterMetrics({ outbox, sent, publisher }),
          port: config.metricsPort,
          host: config.metricsHost,
        });
  if (metrics) logger.info({ host: config.metricsHost, port: metrics.port }, 'serving /metrics');

  const startedAt = Date.now();
  const ticker = startTicker({
    intervalMs: config.intervalMs,
    count: config.count,
    onTick: (_, dueAt) => outbox.push(randomReading(new Date(dueAt))),
  });
  const stopProgress = config.rate ? logProgress(outbox, logger) : () => undefined;
  logger.info(
    { transport: config.transport, intervalMs: config.intervalMs, count: config.count, window: config.window },
    'broadcasting',
  );

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= shutDown());
  const shutDown = async () => {
    ticker.stop();
    stopProgress();
    // The publish in flight gets 3 s: against an unreachable broker it would wait for the reconnect.
    const unsent = await outbox.stop(3000);
    const elapsedMs = Date.now() - startedAt;
    logger.info(
      {
        generated: ticker.ticks,
        published: outbox.published,
        unsent,
        dropped: outbox.dropped,
        sent,
        elapsedMs,
        perSecond: Math.round((outbox.published * 1000) / elapsedMs),
        maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      },
      'summary',
    );
    await metrics?.close();
    await publisher.close();
    await amqp.close();
  };
  onShutdown(close, { logger, graceMs: 5000 });

  if (config.count !== undefined) {
    await ticker.done;
    await outbox.drained();
    await close();
    process.exit(0);
  }
}

/**
 * One line when the broker becomes unreachable and one when it is back (never one per attempt),
 * and one when the buffer first overflows.
 */
function outageLog(logger: Logger, bufferLimit: number) {
  let downSince: number | undefined;
  let dropped = 0;
  return {
    down(error: Error) {
      downSince = Date.now();
      dropped = 0;
      logger.warn({ err: describeError(error) }, 'broker unreachable: keeping readings until it is back');
    },
    up(waiting: number) {
      const outageMs = downSince === undefined ? undefined : Date.now() - downSince;
      logger.info({ outageMs, waiting, dropped }, 'broker back');
      downSince = undefined;
      dropped = 0;
    },
    dropped() {
      if (dropped++ === 0) logger.warn({ bufferLimit }, 'buffer full: dropping the oldest readings');
    },
  };
}

/** In load mode, a line every 5 s: acknowledged readings per second and memory. */
function logProgress(outbox: Outbox<Reading>, logger: Logger): () => void {
  const started = Date.now();
  let last = { at: started, published: 0 };
  const timer = setInterval(() => {
    const now = Date.now();
    const rate = ((outbox.published - last.published) * 1000) / (now - last.at);
    last = { at: now, published: outbox.published };
    logger.info(
      { published: outbox.published, perSecond: Math.round(rate), waiting: outbox.waiting, rssMb: rssMb() },
      'progress',
    );
  }, 5000);
  timer.unref();
  return () => clearInterval(timer);
}

const rssMb = () => Math.round(process.memoryUsage.rss() / 2 ** 20);

main().catch((error: unknown) => exitOnStartupError(error));
