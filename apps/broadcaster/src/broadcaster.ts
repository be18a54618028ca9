import { randomUUID } from 'node:crypto';
import { exitOnStartupError, type Logger } from '@tally/runtime';
import { fleetDeviceIds, STATUSES, type Reading, type Status } from '@tally/contract';
import {
  brokerRefusal,
  createAmqpConnection,
  createReadingPublisher,
  randomReading,
  type ReadingPublisher,
} from '@tally/messaging';
import type { BroadcasterConfig } from './config';
import { fleetTickMs } from './fleet';
import { logProgress, outageLog } from './logs';
import { serveBroadcasterMetrics } from './metrics';
import { Outbox } from './outbox';
import { startTicker } from './ticker';

export interface Broadcaster {
  /** Resolves once `count` readings are all acknowledged; never, without a count. */
  finished: Promise<void>;
  /** Stops the schedule, gives the readings it holds `stopTimeoutMs` to be published, logs a `summary` line and disconnects. */
  close(): Promise<void>;
}

/**
 * Publishes a random reading every `intervalMs` (on a drift-free schedule) through an outbox that
 * keeps up to `bufferLimit` readings while the broker is unreachable; with `devices`, a reading of
 * each simulated device every `intervalMs` (or `rate` in total), each on its device's topic.
 */
export function startBroadcaster(config: BroadcasterConfig, logger: Logger): Broadcaster {
  const amqp = createAmqpConnection({ url: config.amqpUrls, connectionName: 'tally-broadcaster' });
  const publisher = createReadingPublisher(
    config.transport === 'mqtt'
      ? { transport: 'mqtt', connection: amqp, partitions: config.partitions, mqttUrl: config.mqttUrls, clientId: `tally-broadcaster-${randomUUID()}` }
      : { transport: 'amqp', connection: amqp, partitions: config.partitions },
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
  exitWhenRefusedAtStart(amqp, publisher, logger);
  const metrics =
    config.metricsPort === undefined
      ? undefined
      : serveBroadcasterMetrics({ outbox, sent, publisher }, { port: config.metricsPort, host: config.metricsHost }, logger);
  metrics?.catch((error: unknown) => exitOnStartupError(error, logger));

  const startedAt = Date.now();
  // A fleet is one stream of ticks dealt to its devices in turn (see fleetTickMs).
  const devices = config.devices === undefined ? undefined : fleetDeviceIds(config.devices);
  const ticker = startTicker({
    intervalMs: devices ? fleetTickMs(devices.length, { perDeviceMs: config.intervalMs, totalRate: config.rate }) : config.intervalMs,
    count: config.count,
    onTick: (tick, dueAt) => outbox.push(randomReading(new Date(dueAt), devices?.[tick % devices.length])),
  });
  const stopProgress = config.rate ? logProgress(outbox, logger) : () => undefined;
  logger.info(
    { transport: config.transport, intervalMs: config.intervalMs, devices: config.devices, count: config.count, window: config.window },
    'broadcasting',
  );

  const shutDown = async () => {
    ticker.stop();
    stopProgress();
    // What it holds (generated, not yet acknowledged) gets BROADCAST_STOP_TIMEOUT_MS (3 s) to be
    // published: a reading that was due is not thrown away while the broker takes it, and against
    // an unreachable broker the stop does not wait for the reconnect. What is left is `unsent`.
    const unsent = await outbox.stop(config.stopTimeoutMs, { publishWaiting: true });
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
    await (await metrics)?.close();
    await publisher.close();
    await amqp.close();
  };
  let closing: Promise<void> | undefined;
  const finished = config.count === undefined ? new Promise<void>(() => undefined) : ticker.done.then(() => outbox.drained());
  return { finished, close: () => (closing ??= shutDown()) };
}

/**
 * Credentials or a vhost the broker refuses before they ever worked, or a plugin it lacks, are a
 * configuration error, not an outage: one line, exit 1 (as the processor and the API do). Over
 * MQTT the AMQP connection (which declares the queues) and the MQTT one are watched apart: either
 * may be refused.
 */
function exitWhenRefusedAtStart(amqp: ReturnType<typeof createAmqpConnection>, publisher: ReadingPublisher, logger: Logger): void {
  const worked = { amqp: false, publisher: false };
  amqp.on('connection', () => (worked.amqp = true));
  publisher.on('up', () => (worked.publisher = true));
  const exitIfRefused = (which: keyof typeof worked) => (error: Error) => {
    const refusal = brokerRefusal(error);
    // A plugin is missing whenever the declaration is refused for it, not only before anything worked.
    if (refusal === undefined || (worked[which] && refusal.code === 'access_refused')) return;
    exitOnStartupError(refusal, logger);
  };
  amqp.on('error', exitIfRefused('amqp'));
  publisher.on('down', exitIfRefused('publisher'));
}
