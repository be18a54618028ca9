import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { raceTimeout } from '@tally/runtime';
import { countSeriesPoints, SERIES_STEPS, type SeriesPoint, type SeriesStep, type TimeRange } from '@tally/store';
import type { Context } from 'hono';
import { UNAUTHORIZED } from '../auth';
import { ApiError, apiError, type ErrorKind } from '../errors';
import { errorResponses, jsonContent } from '../openapi';
import { BUSY, BUSY_RETRY_AFTER_SECONDS, type QueryLimit } from '../query-limit';
import {
  INVALID_REQUEST,
  MAX_SERIES_POINTS,
  seriesQuery,
  seriesResponse,
  statusCountsBody,
  statusCountsQuery,
  statusCountsResponse,
} from '../schemas';
import { toDate, type Instant } from '../time';
import type { CountsStore } from '../store';
import { JSON_BODY_ERRORS, jsonObjectBody } from './json-body';

export const UNAVAILABLE: ErrorKind = { status: 503, code: 'unavailable', description: 'MongoDB is unavailable' };
export const TIMEOUT: ErrorKind = { status: 504, code: 'timeout', description: 'MongoDB did not answer within API_REQUEST_TIMEOUT_MS' };
export const TOO_MANY_POINTS: ErrorKind = {
  status: 400,
  code: 'too_many_points',
  description: `The range holds more than ${MAX_SERIES_POINTS} steps`,
};

/** What every operation that queries the store may answer besides its own. */
export const QUERY_ERRORS = [INVALID_REQUEST, UNAUTHORIZED, TIMEOUT, UNAVAILABLE, BUSY];

const countsResponse = { description: 'Counts per status', content: jsonContent(statusCountsResponse) };

export const getStatusCounts = createRoute({
  operationId: 'getStatusCounts',
  method: 'get',
  path: '/status-counts',
  summary: 'Count readings per status in a time range (query parameters)',
  request: { query: statusCountsQuery },
  responses: { 200: countsResponse, ...errorResponses(...QUERY_ERRORS) },
});

export const postStatusCounts = createRoute({
  operationId: 'postStatusCounts',
  method: 'post',
  path: '/status-counts',
  summary: 'Count readings per status in a time range',
  middleware: jsonObjectBody('start_time and end_time'),
  request: { body: { required: true, content: jsonContent(statusCountsBody) } },
  responses: { 200: countsResponse, ...errorResponses(...QUERY_ERRORS, ...JSON_BODY_ERRORS) },
});

export const getSeries = createRoute({
  operationId: 'getSeries',
  method: 'get',
  path: '/status-counts/series',
  summary: 'Counts per status in each UTC-aligned step of a time range, for charts',
  description:
    `At most ${MAX_SERIES_POINTS} points. The first and last points are clipped to the range, ` +
    'so the points add up to what /status-counts answers for it.',
  request: { query: seriesQuery },
  responses: {
    200: { description: 'One point per step', content: jsonContent(seriesResponse) },
    ...errorResponses(...QUERY_ERRORS, TOO_MANY_POINTS),
  },
});

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
        if (error instanceof ApiError && error.code === BUSY.code) c.header('Retry-After', String(BUSY_RETRY_AFTER_SECONDS));
        throw error;
      });
    });
}

/** `GET|POST /status-counts` (totals over a range) and `GET /status-counts/series` (per step). */
export function countsRoutes(app: OpenAPIHono, options: CountsRoutesOptions): void {
  const { store } = options;
  const query = storeQuery(options);
  const toRange = ({ start_time, end_time }: { start_time: Instant; end_time: Instant }): TimeRange => ({
    start: toDate(start_time),
    end: toDate(end_time),
  });

  app.openapi(getStatusCounts, async (c) => {
    const { device: devices, ...times } = c.req.valid('query');
    const range = toRange(times);
    return c.json(await query(c, (options) => store.countByStatus(range, { ...options, ...(devices && { devices }) })), 200);
  });

  app.openapi(postStatusCounts, async (c) => {
    const { device: devices, ...times } = c.req.valid('json');
    const range = toRange(times);
    return c.json(await query(c, (options) => store.countByStatus(range, { ...options, ...(devices && { devices }) })), 200);
  });

  app.openapi(getSeries, async (c) => {
    const { step, device: devices, ...times } = c.req.valid('query');
    const { start, end } = toRange(times);
    const stepMs = checkSeriesPoints({ start, end }, step);
    const series = await query(c, (options) => store.series({ start, end }, stepMs, { ...options, ...(devices && { devices }) }));
    return c.json(seriesBody({ start, end }, step, series), 200);
  });
}

/** The JSON of a series (or of some of its points): the range, the step, and each point's start and counts. */
export function seriesBody({ start, end }: TimeRange, step: SeriesStep, points: readonly SeriesPoint[]) {
  return {
    start_time: start.toISOString(),
    end_time: end.toISOString(),
    step,
    points: points.map((point) => ({ start: point.start.toISOString(), counts: point.counts })),
  };
}

/** The step's width in milliseconds, once the range is known to hold at most `MAX_SERIES_POINTS` of them (else a 400). */
export function checkSeriesPoints(range: TimeRange, step: SeriesStep): number {
  const stepMs = SERIES_STEPS[step];
  const points = countSeriesPoints(range, stepMs);
  if (points > MAX_SERIES_POINTS) {
    throw apiError(
      TOO_MANY_POINTS,
      `The range holds ${points} steps of ${step}; at most ${MAX_SERIES_POINTS} points: use a larger step or a shorter range`,
    );
  }
  return stepMs;
}

/** Runs a store call bounded by `timeoutMs`: 503 when MongoDB is unreachable, 504 when too slow. */
export async function withTimeout<T>(
  store: CountsStore,
  timeoutMs: number,
  call: (options: { timeoutMs: number }) => Promise<T>,
): Promise<T> {
  try {
    return await raceTimeout(call({ timeoutMs }), timeoutMs, () => {
      throw apiError(TIMEOUT, `MongoDB did not answer within ${timeoutMs} ms`);
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const kind = store.classifyError(error);
    if (kind === 'unavailable') throw apiError(UNAVAILABLE, 'MongoDB is unavailable; try again later', { cause: error });
    if (kind === 'timeout') throw apiError(TIMEOUT, `The count took longer than ${timeoutMs} ms`, { cause: error });
    throw error;
  }
}
