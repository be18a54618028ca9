import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import type { BrowserAssets } from './assets';
import { bearerAuth } from './auth';
import { dashboardRoutes } from './dashboard/routes';
import { docsRoutes } from './docs';
import { ApiError, apiError } from './errors';
import type { ApiMetrics } from './metrics';
import { openApiDocument, registerSecurity } from './openapi';
import { QueryLimit } from './query-limit';
import type { LiveHub } from './live/hub';
import { liveRoutes } from './live/routes';
import { countsRoutes } from './routes/counts';
import { deviceRoutes } from './routes/devices';
import { healthRoutes, PUBLIC_PATHS } from './routes/health';
import { UNSUPPORTED_MEDIA_TYPE } from './routes/json-body';
import { refuseOtherMethods } from './routes/methods';
import { describeIssues, INVALID_REQUEST } from './schemas';
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
  dashboard?: Promise<BrowserAssets>;
  /** Serves the API reference (Swagger UI over /openapi.json) at `/docs` when given. */
  docs?: Promise<BrowserAssets>;
  /** Serves `GET /status-counts/stream` from this hub (see ./live), at most `maxStreams` at once, when given. */
  live?: { hub: LiveHub; maxStreams: number };
  /** Counts and times every request (see ./metrics); served elsewhere, never on this app. */
  metrics?: ApiMetrics;
}

/**
 * The API: request ids and logs, security headers, the token check, then the routes. Each operation
 * is defined with its schemas (`app.openapi`), which both validate its requests and describe it
 * in /openapi.json.
 */
export function createApp({ store, token, requestTimeoutMs = 5000, maxConcurrentQueries, log, onError, dashboard, docs, metrics, live }: AppOptions): OpenAPIHono {
  const app = new OpenAPIHono({
    // A request its operation's schemas refuse: one 400 naming every problem.
    defaultHook: (result) => {
      if (!result.success) throw apiError(INVALID_REQUEST, describeIssues(result.error));
    },
  });
  registerSecurity(app);

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
  // Every script and style sheet is a file of this app: no inline script, no inline style. Images
  // may also be data: URLs (Swagger UI's style sheet draws its icons so); an image runs no script.
  app.use(
    secureHeaders({ contentSecurityPolicy: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'", 'data:'] } }),
  );
  if (dashboard) app.route('/', dashboardRoutes({ assets: dashboard, authRequired: token !== undefined }));
  if (token !== undefined) app.use(bearerAuth(token, PUBLIC_PATHS));

  const limit = maxConcurrentQueries === undefined ? undefined : new QueryLimit(maxConcurrentQueries);
  countsRoutes(app, { store, requestTimeoutMs, limit });
  deviceRoutes(app, { store, requestTimeoutMs, limit });
  if (live) liveRoutes(app, { store, requestTimeoutMs, limit, ...live });
  healthRoutes(app, { store, requestTimeoutMs });
  const document = openApiDocument(app);
  app.get('/openapi.json', (c) => c.json(document));
  if (docs) app.route('/', docsRoutes({ assets: docs }));
  refuseOtherMethods(app);

  app.notFound((c) => c.json(new ApiError(404, 'not_found', `No route ${c.req.method} ${c.req.path}; see /docs`).toJSON(), 404));
  app.onError((error, c) => {
    if (error instanceof ApiError) {
      if (error.retryAfterSeconds !== undefined) c.header('Retry-After', String(error.retryAfterSeconds));
      return c.json(error.toJSON(), error.status);
    }
    // The body validator's own check of the content type, stricter than ./routes/json-body's.
    if (error instanceof HTTPException && error.status === 415) {
      return c.json(apiError(UNSUPPORTED_MEDIA_TYPE, 'Send a JSON body with "Content-Type: application/json"').toJSON(), 415);
    }
    onError?.(error);
    return c.json(new ApiError(500, 'internal', 'Internal error').toJSON(), 500);
  });
  return app;
}
