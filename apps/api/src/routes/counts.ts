import { raceTimeout } from '@tally/config';
import { countSeriesPoints, SERIES_STEPS } from '@tally/store';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { CountsStore } from '../store';
import { REPEATABLE_PARAMETERS } from '../device-params';
import { ApiError } from '../errors';
import { BUSY_RETRY_AFTER_SECONDS, type QueryLimit } from '../query-limit';
import { describeIssues, MAX_SERIES_POINTS, seriesRequest, statusCountsRequest } from '../schemas';
import { toDate } from '../time';
import { methodNotAllowed } from './methods';

export const MAX_BODY_BYTES = 16 * 1024;

export interface CountsRoutesOptions {
  store: CountsStore;
  /** Longest a request waits for the database: 503 when it is unreachable, 504 when too slow. */
  requestTimeoutMs: number;
  /** Bounds the queries running at once (503 `busy` past it); `undefined`: no bound. */
  limit?: QueryLimit | undefined;
}

/** A store call within the limit and the request's time bound (shared by every route that queries the store). */
export function storeQuery({ store, requestTimeoutMs, limit }: CountsRoutesOptions) {
  return <T>(c: Context, call: (options: { timeoutMs: number }) => Promise<T>): Promise<T> =>
    withTimeout(store, requestTimeoutMs, (options) => {
      if (!limit) return call(options);
      return limit.run(() => call(options)).catch((error: unknown) => {
        if (error instanceof ApiError && error.code === 'busy') c.header('Retry-After', String(BUSY_RETRY_AFTER_SECONDS));
        throw error;
      });
    });
}

/** `GET|POST /status-counts` (totals over a range) and `GET /status-counts/series` (per step). */
export function countsRoutes(app: Hono, { store, requestTimeoutMs, limit }: CountsRoutesOptions): void {
  const query = storeQuery({ store, requestTimeoutMs, limit });

  const count = async (c: Context, input: unknown) => {
    const parsed = statusCountsRequest.safeParse(input);
    if (!parsed.success) throw new ApiError(400, 'invalid_request', describeIssues(parsed.error));
    const range = { start: toDate(parsed.data.start_time), end: toDate(parsed.data.end_time) };
    const devices = parsed.data.device;
    return c.json(await query(c, (options) => store.countByStatus(range, { ...options, ...(devices && { devices }) })));
  };

  app.get('/status-counts', (c) => count(c, singleQueryValues(c)));

  app.get('/status-counts/series', async (c) => {
    const parsed = seriesRequest.safeParse(singleQueryValues(c));
    if (!parsed.success) throw new ApiError(400, 'invalid_request', describeIssues(parsed.error));
    const { step, device: devices } = parsed.data;
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
    const series = await query(c, (options) => store.series({ start, end }, stepMs, { ...options, ...(devices && { devices }) }));
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
    async (c) => count(c, await jsonObjectBody(c)),
  );

  app.all('/status-counts', methodNotAllowed('GET, HEAD, POST'));
}

/** The body as a JSON object: 415 for another content type, 400 for what is not JSON or not an object. */
async function jsonObjectBody(c: Context): Promise<object> {
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
  return body;
}

/** The query parameters, each given at most once; those of `repeatable` as the list of their values. */
export function singleQueryValues(c: Context, repeatable: ReadonlySet<string> = REPEATABLE_PARAMETERS): Record<string, string | string[] | undefined> {
  const query = c.req.queries();
  for (const [name, values] of Object.entries(query)) {
    if (values.length > 1 && !repeatable.has(name)) throw new ApiError(400, 'invalid_request', `${name} is given more than once`);
  }
  return Object.fromEntries(Object.entries(query).map(([name, values]) => [name, repeatable.has(name) ? values : values[0]]));
}

/** Runs a store call bounded by `timeoutMs`: 503 when MongoDB is unreachable, 504 when too slow. */
async function withTimeout<T>(
  store: CountsStore,
  timeoutMs: number,
  call: (options: { timeoutMs: number }) => Promise<T>,
): Promise<T> {
  try {
    return await raceTimeout(call({ timeoutMs }), timeoutMs, () => {
      throw new ApiError(504, 'timeout', `MongoDB did not answer within ${timeoutMs} ms`);
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const kind = store.classifyError(error);
    if (kind === 'unavailable') throw new ApiError(503, 'unavailable', 'MongoDB is unavailable; try again later', { cause: error });
    if (kind === 'timeout') throw new ApiError(504, 'timeout', `The count took longer than ${timeoutMs} ms`, { cause: error });
    throw error;
  }
}
