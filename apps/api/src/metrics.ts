import { Counter, createMetricsRegistry, Gauge, Histogram, type Registry } from '@tally/metrics';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { LiveMetrics } from './live/hub';
import type { CountsStore } from './store';

export interface ApiMetrics {
  registry: Registry;
  /** Counts every request by method, route and status, and times it; mount it first. */
  middleware: MiddlewareHandler;
  /** `store` with its calls counted by operation, and its failed ones by kind (`unavailable`, `timeout`, `other`). */
  instrument(store: CountsStore): CountsStore;
  /** The live streams' events, drops and tick store time; `openStreams` is read when scraped. */
  live(openStreams: () => number): LiveMetrics;
}

/** The API's Prometheus metrics (and Node's process metrics) in a registry of their own. */
export function createApiMetrics(registry: Registry = createMetricsRegistry()): ApiMetrics {
  const requests = new Counter({
    name: 'tally_api_requests_total',
    help: 'HTTP requests answered, by method, route (the matched pattern, "unmatched" for a 404) and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tally_api_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'tally_api_store_errors_total',
    help: 'MongoDB calls of the counts that failed, by kind: unavailable (503), timeout (504), other (500)',
    labelNames: ['kind'],
    registers: [registry],
  });
  for (const kind of ['unavailable', 'timeout', 'other']) storeErrors.inc({ kind }, 0);

  const storeQueries = new Counter({
    name: 'tally_api_store_queries_total',
    help: 'MongoDB calls of the counts, by operation (count, series, devices, top_devices): requests and live ticks alike',
    labelNames: ['operation'],
    registers: [registry],
  });

  const counted =
    <Args extends unknown[], T>(store: CountsStore, operation: string, call: (...args: Args) => Promise<T>) =>
    async (...args: Args): Promise<T> => {
      storeQueries.inc({ operation });
      try {
        return await call(...args);
      } catch (error) {
        storeErrors.inc({ kind: store.classifyError(error) });
        throw error;
      }
    };

  return {
    registry,
    middleware: async (c, next) => {
      const stop = duration.startTimer();
      await next();
      const matched = routePath(c, -1);
      const route = matched === '/*' || matched === '' ? 'unmatched' : matched;
      const labels = { method: c.req.method, route };
      stop(labels);
      requests.inc({ ...labels, status: String(c.res.status) });
    },
    instrument: (store) => ({
      ...store,
      countByStatus: counted(store, 'count', store.countByStatus),
      series: counted(store, 'series', store.series),
      listDevices: counted(store, 'devices', store.listDevices),
      topDevices: counted(store, 'top_devices', store.topDevices),
    }),
    live: (openStreams) => {
      new Gauge({
        name: 'tally_api_streams_open',
        help: 'Live streams (GET /status-counts/stream) open now',
        registers: [registry],
        collect() {
          this.set(openStreams());
        },
      });
      const events = new Counter({
        name: 'tally_api_stream_events_total',
        help: 'Events written to live streams, by type: series (a whole series, first) and points (changed points)',
        labelNames: ['type'],
        registers: [registry],
      });
      const closed = new Counter({
        name: 'tally_api_streams_closed_total',
        help: 'Live streams ended, by reason: client (it left), slow (too much unread), stalled (nothing read for a heartbeat), shutdown',
        labelNames: ['reason'],
        registers: [registry],
      });
      const tickStore = new Histogram({
        name: 'tally_api_stream_tick_store_seconds',
        help: "Store time of one live tick: the reads of every changed point, once for all the streams that watch it",
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        registers: [registry],
      });
      for (const type of ['series', 'points']) events.inc({ type }, 0);
      for (const reason of ['client', 'slow', 'stalled', 'shutdown']) closed.inc({ reason }, 0);
      return {
        eventsSent: (type, count) => events.inc({ type }, count),
        closed: (reason) => closed.inc({ reason }),
        tickStore: (seconds) => tickStore.observe(seconds),
      };
    },
  };
}
