import type { Logger } from '@tally/runtime';
import type { Reading, Status } from '@tally/contract';
import type { ReadingPublisher } from '@tally/messaging';
import { Counter, createMetricsRegistry, Gauge, startMetricsServer, type MetricsServer, type Registry } from '@tally/metrics';
import type { Outbox } from './outbox';

export interface BroadcasterSources {
  outbox: Outbox<Reading>;
  /** Readings acknowledged by the broker, per status. */
  sent: Readonly<Record<Status, number>>;
  publisher: ReadingPublisher;
}

/**
 * The broadcaster's Prometheus metrics (and Node's process metrics), read from what it counts
 * already when scraped: nothing is added to the publishing path.
 */
export function createBroadcasterMetrics({ outbox, sent, publisher }: BroadcasterSources, registry: Registry = createMetricsRegistry()): Registry {
  let brokerDown = false;
  publisher.on('down', () => (brokerDown = true));
  publisher.on('up', () => (brokerDown = false));
  const registers = [registry];
  new Counter({
    name: 'tally_broadcaster_published_total',
    help: 'Readings the broker acknowledged (publisher confirm or MQTT PUBACK), by status',
    labelNames: ['status'],
    registers,
    collect() {
      this.reset();
      for (const [status, count] of Object.entries(sent)) this.inc({ status }, count);
    },
  });
  new Counter({
    name: 'tally_broadcaster_dropped_total',
    help: 'Readings dropped, oldest first, because the buffer was full during a broker outage',
    registers,
    collect() {
      this.reset();
      this.inc(outbox.dropped);
    },
  });
  new Gauge({
    name: 'tally_broadcaster_buffered',
    help: 'Readings waiting to be published (held while the broker is unreachable)',
    registers,
    collect() {
      this.set(outbox.waiting);
    },
  });
  new Gauge({
    name: 'tally_broadcaster_broker_up',
    help: '1 once the broker acknowledged a reading and while no outage is under way, else 0',
    registers,
    collect() {
      this.set(!brokerDown && outbox.published > 0 ? 1 : 0);
    },
  });
  return registry;
}

/** Serves the broadcaster's metrics at `/metrics` on `port` (0 picks a free one), and logs where. */
export async function serveBroadcasterMetrics(
  sources: BroadcasterSources,
  { port, host }: { port: number; host: string },
  logger: Logger,
): Promise<MetricsServer> {
  const server = await startMetricsServer({ registry: createBroadcasterMetrics(sources), port, host });
  logger.info({ host, port: server.port }, 'serving /metrics');
  return server;
}
