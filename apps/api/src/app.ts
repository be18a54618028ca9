import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { bearerAuth } from './auth';
import { dashboardRoutes, type DashboardAssets } from './dashboard/routes';
import { DOCS_HTML } from './docs';
import { ApiError } from './errors';
import type { ApiMetrics } from './metrics';
import { buildOpenApi } from './openapi';
import { QueryLimit } from './query-limit';
import { countsRoutes } from './routes/counts';
import { deviceRoutes } from './routes/devices';
import { healthRoutes } from './routes/health';
import { methodNotAllowed } from './routes/methods';
import type { CountsStore } from './store';

export interface RequestLog {
  requestId: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
}

export interface AppOptions {
  store: CountsStore;
  /** Bearer token required on every route but the health checks; `undefined` turns auth off. */
  token?: string | undefined;
  /**
   * Longest a request waits for the database: 503 when it is unreachable, 504 when too slow.
   * @default 5000
   */
  requestTimeoutMs?: number;
  /**
   * Most count and series queries running at once; past it a request is answered 503 `busy` with
   * `Retry-After`. `undefined`: no bound.
   */
  maxConcurrentQueries?: number | undefined;
  /** Called once per request. */
  log?: (entry: RequestLog) => void;
  /** Called with unexpected errors (answered as a 500 without details). */
  onError?: (error: unknown) => void;
  /** Serves the dashboard at `/` (no token needed for the page itself) when given. */
  dashboard?: Promise<DashboardAssets>;
  /** Counts and times every request (see ./metrics); served elsewhere, never on this app. */
  metrics?: ApiMetrics;
}

const PUBLIC_PATHS = new Set(['/healthz', '/readyz']);

/** The API: request ids and logs, security headers, the token check, then the routes. */
export function createApp({ store, token, requestTimeoutMs = 5000, maxConcurrentQueries, log, onError, dashboard, metrics }: AppOptions): Hono {
  const app = new Hono();
  const openApi = buildOpenApi();

  if (metrics) app.use(metrics.middleware);

  app.use(requestId());
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    log?.({
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    });
  });
  app.use(secureHeaders({ contentSecurityPolicy: { defaultSrc: ["'self'"], scriptSrc: ["'self'", "'unsafe-inline'"], styleSrc: ["'self'", "'unsafe-inline'"] } }));
  if (dashboard) app.route('/', dashboardRoutes({ assets: dashboard, authRequired: token !== undefined }));
  if (token !== undefined) app.use(bearerAuth(token, PUBLIC_PATHS));

  const limit = maxConcurrentQueries === undefined ? undefined : new QueryLimit(maxConcurrentQueries);
  countsRoutes(app, { store, requestTimeoutMs, limit });
  deviceRoutes(app, { store, requestTimeoutMs, limit });
  healthRoutes(app, { store, requestTimeoutMs });
  app.get('/openapi.json', (c) => c.json(openApi));
  app.get('/docs', (c) => c.html(DOCS_HTML));
  for (const path of ['/openapi.json', '/docs']) app.all(path, methodNotAllowed('GET, HEAD'));

  app.notFound((c) => c.json(new ApiError(404, 'not_found', `No route ${c.req.method} ${c.req.path}; see /docs`).toJSON(), 404));
  app.onError((error, c) => {
    if (error instanceof ApiError) return c.json(error.toJSON(), error.status);
    onError?.(error);
    return c.json(new ApiError(500, 'internal', 'Internal error').toJSON(), 500);
  });
  return app;
}
