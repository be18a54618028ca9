import { Counter, createMetricsRegistry, Gauge, type Registry } from '@tally/metrics';
import type { Outbox, Reading, ReadingPublisher, Status } from '@tally/messaging';

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
