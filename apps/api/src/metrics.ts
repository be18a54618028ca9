import { Counter, createMetricsRegistry, Histogram, type Registry } from '@tally/metrics';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { CountsStore } from './store';

export interface ApiMetrics {
  registry: Registry;
  /** Counts every request by method, route and status, and times it; mount it first. */
  middleware: MiddlewareHandler;
  /** `store` with its failed calls counted by kind (`unavailable`, `timeout`, `other`). */
  instrument(store: CountsStore): CountsStore;
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

  const counted =
    <Args extends unknown[], T>(store: CountsStore, call: (...args: Args) => Promise<T>) =>
    async (...args: Args): Promise<T> => {
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
      countByStatus: counted(store, store.countByStatus),
      series: counted(store, store.series),
      listDevices: counted(store, store.listDevices),
      topDevices: counted(store, store.topDevices),
    }),
  };
}
