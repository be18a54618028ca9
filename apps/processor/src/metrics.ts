import { Counter, createMetricsRegistry, Gauge, Histogram, type Registry } from '@tally/metrics';
import type { StatusEvent } from '@tally/contract';
import type { InsertResult } from '@tally/store';
import type { Counts } from './stats';

export interface ProcessorState {
  /** Subscribed to the queue now. */
  consuming(): boolean;
  /** MongoDB's last write failed, and no write succeeded since. */
  mongoFailing(): boolean;
  /** What the processor has counted since it started (its stats' totals), read when scraped. */
  totals(): Readonly<Counts>;
}

export interface ProcessorMetrics {
  registry: Registry;
  /** `store` whose every successful `insertReadings` of at least one reading is timed and its size observed. */
  /** Counts an announcement of stored readings dropped (the broker unreachable, too many in flight, failed). */
  announcementDropped(reason: 'unreachable' | 'busy' | 'failed'): void;
  timingInserts<Store extends { insertReadings(events: readonly StatusEvent[]): Promise<InsertResult[]> }>(store: Store): Store;
}

/**
 * The processor's Prometheus metrics (and Node's process metrics) in a registry of their own. The
 * counts are read from its stats when scraped: nothing is added per reading.
 */
export function createProcessorMetrics(state: ProcessorState, registry: Registry = createMetricsRegistry()): ProcessorMetrics {
  const registers = [registry];
  new Counter({
    name: 'tally_processor_readings_stored_total',
    help: 'Readings acknowledged as stored, duplicates (stored before) included',
    registers,
    collect() {
      this.reset();
      this.inc(state.totals().stored);
    },
  });
  new Counter({
    name: 'tally_processor_readings_duplicate_total',
    help: 'Readings that were already stored (a redelivery): counted once',
    registers,
    collect() {
      this.reset();
      this.inc(state.totals().duplicates);
    },
  });
  new Counter({
    name: 'tally_processor_dead_lettered_total',
    help: 'Messages dead-lettered, by reason (invalid_json, invalid_schema, invalid_device, device_conflict, too_large, write_error, ...)',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(state.totals().deadLettered)) this.inc({ reason }, count);
    },
  });
  const batchSize = new Histogram({
    name: 'tally_processor_batch_size',
    help: 'Readings per batch written to MongoDB',
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
    registers,
  });
  const insertSeconds = new Histogram({
    name: 'tally_processor_insert_duration_seconds',
    help: 'Time of a successful batch write to MongoDB (raw readings and rollup marks)',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  new Gauge({
    name: 'tally_processor_mongodb_failing',
    help: '1 while MongoDB refuses or times out the writes (messages are held unacknowledged), else 0',
    registers,
    collect() {
      this.set(state.mongoFailing() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tally_processor_consuming',
    help: '1 while subscribed to the queue, else 0',
    registers,
    collect() {
      this.set(state.consuming() ? 1 : 0);
    },
  });

  const announcementsDropped = new Counter({
    name: 'tally_processor_announcements_dropped_total',
    help: 'Announcements of stored batches to tally.changes dropped (the readings are stored all the same; live viewers see them at the next change or poll), by reason: unreachable, busy, failed',
    labelNames: ['reason'],
    registers,
  });
  for (const reason of ['unreachable', 'busy', 'failed']) announcementsDropped.inc({ reason }, 0);

  return {
    registry,
    announcementDropped: (reason) => announcementsDropped.inc({ reason }),
    timingInserts: (store) => ({
      ...store,
      insertReadings: async (events) => {
        if (events.length === 0) return store.insertReadings(events); // a batch of dead letters only
        const stop = insertSeconds.startTimer();
        const results = await store.insertReadings(events);
        stop();
        batchSize.observe(events.length);
        return results;
      },
    }),
  };
}
