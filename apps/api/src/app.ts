import { createHash, timingSafeEqual } from 'node:crypto';
import { countSeriesPoints, SERIES_STEPS, type StatusCounts, type TimeRange } from '@tally/store';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { dashboardRoutes, type DashboardAssets } from './dashboard/routes';
import { DOCS_HTML } from './docs';
import { ApiError } from './errors';
import type { ApiMetrics } from './metrics';
import { buildOpenApi } from './openapi';
import { describeIssues, MAX_SERIES_POINTS, seriesRequest, statusCountsRequest } from './schemas';
import { toDate } from './time';

/** What the API needs from storage. */
export interface CountsStore {
  countByStatus(range: TimeRange, options: { timeoutMs: number }): Promise<StatusCounts>;
  /** Counts of each UTC-aligned `stepMs` of the range, each clipped to it. */
  series(range: TimeRange, stepMs: number, options: { timeoutMs: number }): Promise<{ start: Date; counts: StatusCounts }[]>;
  /** True when the database answers. */
  ping(): Promise<boolean>;
  /** How a failure of `countByStatus` should be reported. */
  classifyError(error: unknown): 'unavailable' | 'timeout' | 'other';
}

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
  /** Called once per request. */
  log?: (entry: RequestLog) => void;
  /** Called with unexpected errors (answered as a 500 without details). */
  onError?: (error: unknown) => void;
  /** Serves the dashboard at `/` (no token needed for the page itself) when given. */
  dashboard?: Promise<DashboardAssets>;
  /** Counts and times every request (see ./metrics); served elsewhere, never on this app. */
  metrics?: ApiMetrics;
}

export const MAX_BODY_BYTES = 16 * 1024;
const PUBLIC_PATHS = new Set(['/healthz', '/readyz']);

export function createApp({ store, token, requestTimeoutMs = 5000, log, onError, dashboard, metrics }: AppOptions): Hono {
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
  if (token !== undefined) {
    const expected = digest(token);
    app.use(async (c, next) => {
      if (PUBLIC_PATHS.has(c.req.path)) return next();
      const given = /^Bearer (.+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
      if (given === undefined || !timingSafeEqual(digest(given), expected)) {
        c.header('WWW-Authenticate', 'Bearer');
        throw new ApiError(401, 'unauthorized', 'Send the API token as "Authorization: Bearer <token>"');
      }
      return next();
    });
  }

  const count = async (c: Context, input: unknown) => {
    const parsed = statusCountsRequest.safeParse(input);
    if (!parsed.success) throw new ApiError(400, 'invalid_request', describeIssues(parsed.error));
    const range = { start: toDate(parsed.data.start_time), end: toDate(parsed.data.end_time) };
    return c.json(await withTimeout(store, requestTimeoutMs, (options) => store.countByStatus(range, options)));
  };

  app.get('/status-counts', (c) => count(c, singleQueryValues(c)));

  app.get('/status-counts/series', async (c) => {
    const parsed = seriesRequest.safeParse(singleQueryValues(c));
    if (!parsed.success) throw new ApiError(400, 'invalid_request', describeIssues(parsed.error));
    const { step } = parsed.data;
    const [start, end] = [toDate(parsed.data.start_time), toDate(parsed.data.end_time)];
    const stepMs = SERIES_STEPS[step];
    const points = countSeriesPoints({ start, end }, stepMs);
    if (points > MAX_SERIES_POINTS) {
      throw new ApiError(
        400,
        'too_many_points',
        `The range holds ${points} steps of ${step}; at most ${MAX_SERIES_POINTS} points: use a larger step or a shorter range`,
      );
    }
    const series = await withTimeout(store, requestTimeoutMs, (options) => store.series({ start, end }, stepMs, options));
    return c.json({
      start_time: start.toISOString(),
      end_time: end.toISOString(),
      step,
      points: series.map((point) => ({ start: point.start.toISOString(), counts: point.counts })),
    });
  });

  app.all('/status-counts/series', methodNotAllowed('GET, HEAD'));

  app.post(
    '/status-counts',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, 'payload_too_large', `The body must be at most ${MAX_BODY_BYTES} bytes`);
      },
    }),
    async (c) => {
      const type = c.req.header('content-type') ?? '';
      if (!/^application\/json\s*(;|$)/i.test(type)) {
        throw new ApiError(415, 'unsupported_media_type', 'Send a JSON body with "Content-Type: application/json"');
      }
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch {
        throw new ApiError(400, 'invalid_json', 'The body is not valid JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ApiError(400, 'invalid_request', 'The body must be a JSON object with start_time and end_time');
      }
      return count(c, body);
    },
  );

  app.all('/status-counts', methodNotAllowed('GET, HEAD, POST'));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const ready = await Promise.race([store.ping(), sleep(Math.min(requestTimeoutMs, 2000)).then(() => false)]);
    if (!ready) throw new ApiError(503, 'unavailable', 'MongoDB does not answer');
    return c.json({ status: 'ready' });
  });
  app.get('/openapi.json', (c) => c.json(openApi));
  app.get('/docs', (c) => c.html(DOCS_HTML));
  for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs']) app.all(path, methodNotAllowed('GET, HEAD'));

  app.notFound((c) => c.json(new ApiError(404, 'not_found', `No route ${c.req.method} ${c.req.path}; see /docs`).toJSON(), 404));
  app.onError((error, c) => {
    if (error instanceof ApiError) return c.json(error.toJSON(), error.status);
    onError?.(error);
    return c.json(new ApiError(500, 'internal', 'Internal error').toJSON(), 500);
  });
  return app;
}

/** Answers a method the path does not serve: 405 with the methods it does in `Allow`. */
function methodNotAllowed(allow: string) {
  return (c: Context) => {
    c.header('Allow', allow);
    throw new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed here: use ${allow.replace(/, (?=[^,]+$)/, ' or ')}`);
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** The query parameters, each given at most once. */
function singleQueryValues(c: Context): Record<string, string | undefined> {
  const query = c.req.queries();
  for (const [name, values] of Object.entries(query)) {
    if (values.length > 1) throw new ApiError(400, 'invalid_request', `${name} is given more than once`);
  }
  return Object.fromEntries(Object.entries(query).map(([name, values]) => [name, values[0]]));
}

/** Runs a store call bounded by `timeoutMs`: 503 when MongoDB is unreachable, 504 when too slow. */
async function withTimeout<T>(
  store: CountsStore,
  timeoutMs: number,
  call: (options: { timeoutMs: number }) => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ApiError(504, 'timeout', `MongoDB did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([call({ timeoutMs }), timedOut]);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const kind = store.classifyError(error);
    if (kind === 'unavailable') throw new ApiError(503, 'unavailable', 'MongoDB is unavailable; try again later', { cause: error });
    if (kind === 'timeout') throw new ApiError(504, 'timeout', `The count took longer than ${timeoutMs} ms`, { cause: error });
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
