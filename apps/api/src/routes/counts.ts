import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { raceTimeout } from '@tally/runtime';
import {
  addCounts,
  formatInZone,
  seriesShape,
  shapePoints,
  shapeRange,
  UTC,
  zeroCounts,
  type SeriesPoint,
  type SeriesShape,
  type SeriesStep,
  type StatusCounts,
  type TimeRange,
  type TimeZone,
} from '@tally/store';
import { z } from '@hono/zod-openapi';
import { UNAUTHORIZED } from '../auth';
import { ApiError, apiError, retryAfter, type ErrorKind } from '../errors';
import { errorResponses, jsonContent } from '../openapi';
import { BUSY, type QueryLimit } from '../query-limit';
import {
  INVALID_REQUEST,
  MAX_SERIES_POINTS,
  seriesGetQuery,
  seriesResponse,
  statusCountsBody,
  statusCountsQuery,
  statusCountsResponse,
} from '../schemas';
import { toDate, type Instant } from '../time';
import type { CountsStore, QueryOptions } from '../store';
import { acceptsCsvFirst, seriesCsv } from '../series-csv';
import { JSON_BODY_ERRORS, jsonObjectBody } from './json-body';

export const UNAVAILABLE: ErrorKind = { status: 503, code: 'unavailable', description: 'MongoDB is unavailable' };
export const TIMEOUT: ErrorKind = { status: 504, code: 'timeout', description: 'MongoDB did not answer within API_REQUEST_TIMEOUT_MS' };
export const TOO_MANY_POINTS: ErrorKind = {
  status: 400,
  code: 'too_many_points',
  description: `The range holds more than ${MAX_SERIES_POINTS} steps`,
};

export const RAW_EXPIRED: ErrorKind = {
  status: 400,
  code: 'raw_expired',
  description:
    'An edge of the range lies where raw readings expired (RAW_RETENTION) and within a bucket: the message names the alignment that works there (whole minutes; whole hours per device)',
};
export const CATCHING_UP: ErrorKind = {
  status: 503,
  code: 'catching_up',
  description: 'A late reading into the expired era is being added to the rollups: try again after Retry-After',
  ...retryAfter('catching_up', 1),
};

/** What every operation that counts over a range may answer besides `QUERY_ERRORS`. */
export const RANGE_ERRORS = [RAW_EXPIRED, CATCHING_UP];

/** Device series a CSV export runs at once. */
const DEVICE_SERIES_AT_ONCE = 4;

/** What every operation that queries the store may answer besides its own. */
export const QUERY_ERRORS = [INVALID_REQUEST, UNAUTHORIZED, TIMEOUT, UNAVAILABLE, BUSY];

const countsResponse = { description: 'Counts per status', content: jsonContent(statusCountsResponse) };

export const getStatusCounts = createRoute({
  operationId: 'getStatusCounts',
  method: 'get',
  path: '/status-counts',
  summary: 'Count readings per status in a time range (query parameters)',
  request: { query: statusCountsQuery },
  responses: { 200: countsResponse, ...errorResponses(...QUERY_ERRORS, ...RANGE_ERRORS) },
});

export const postStatusCounts = createRoute({
  operationId: 'postStatusCounts',
  method: 'post',
  path: '/status-counts',
  summary: 'Count readings per status in a time range',
  middleware: jsonObjectBody('start_time and end_time'),
  request: { body: { required: true, content: jsonContent(statusCountsBody) } },
  responses: { 200: countsResponse, ...errorResponses(...QUERY_ERRORS, ...RANGE_ERRORS, ...JSON_BODY_ERRORS) },
});

export const getSeries = createRoute({
  operationId: 'getSeries',
  method: 'get',
  path: '/status-counts/series',
  summary: 'Counts per status in each step of a time range, in a time zone, for charts and exports',
  description:
    `At most ${MAX_SERIES_POINTS} points. The first and last points are clipped to the range, ` +
    'so the points add up to what /status-counts answers for it. As CSV with format=csv or Accept: text/csv.',
  request: { query: seriesGetQuery },
  responses: {
    200: {
      description: 'One point per step',
      content: {
        ...jsonContent(seriesResponse),
        'text/csv': {
          schema: z.string().meta({
            description:
              'A header, then a row per point: start,end (local ISO times in tz), a column per status 0..6; with device, then a column per device and status (<device>/<status>)',
          }),
        },
      },
    },
    ...errorResponses(...QUERY_ERRORS, ...RANGE_ERRORS, TOO_MANY_POINTS),
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
  return <T>(call: (options: { timeoutMs: number }) => Promise<T>): Promise<T> =>
    withTimeout(store, requestTimeoutMs, (options) => (limit ? limit.run(() => call(options)) : call(options)));
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
    return c.json(await query((options) => store.countByStatus(range, { ...options, ...(devices && { devices }) })), 200);
  });

  app.openapi(postStatusCounts, async (c) => {
    const { device: devices, ...times } = c.req.valid('json');
    const range = toRange(times);
    return c.json(await query((options) => store.countByStatus(range, { ...options, ...(devices && { devices }) })), 200);
  });

  app.openapi(getSeries, async (c) => {
    const { step, tz: zone, format, device: devices, ...times } = c.req.valid('query');
    const shape = checkSeriesPoints(toRange(times), step, zone);
    // Written out once the store answered: a burst of requests waiting for the query limit holds only their shapes.
    const written = (at: number) => formatInZone(at, zone);
    if (format === 'csv' || (format === undefined && acceptsCsvFirst(c.req.header('accept')))) {
      const perDevice = devices ? await query((options) => seriesPerDevice(store, shape, devices, options)) : undefined;
      const totals = perDevice
        ? shape.starts.map((_, i) => perDevice.reduce((sum, { counts }) => addCounts(sum, counts[i] as StatusCounts), zeroCounts()))
        : (await query((options) => store.series(shape, options))).map((point) => point.counts);
      const csv = seriesCsv(
        shapePoints(shape).map(({ start, end }, i) => ({ start: written(start.getTime()), end: written(end.getTime()), counts: totals[i] as StatusCounts })),
        perDevice,
      );
      return c.body(csv, 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="tally-series-${step}.csv"` });
    }
    const series = await query((options) => store.series(shape, { ...options, ...(devices && { devices }) }));
    return c.json(seriesBody(shapeRange(shape), step, zone, series), 200);
  });
}

/** The JSON of a series (or of some of its points, for the live stream): the range, step and zone, each point's start and counts, times local to the zone. */
export function seriesBody({ start, end }: TimeRange, step: SeriesStep, zone: TimeZone, points: readonly SeriesPoint[]) {
  const written = (at: Date) => formatInZone(at.getTime(), zone);
  return {
    start_time: written(start),
    end_time: written(end),
    step,
    tz: zone.name,
    points: points.map((point) => ({ start: written(point.start), counts: point.counts })),
  };
}

/** The series' shape (its points as UTC instants), once the range is known to hold at most `MAX_SERIES_POINTS` of them (else a 400). */
export function checkSeriesPoints(range: TimeRange, step: SeriesStep, zone: TimeZone = UTC): SeriesShape {
  const shape = seriesShape(range, step, zone, MAX_SERIES_POINTS);
  if (!shape) {
    throw apiError(
      TOO_MANY_POINTS,
      `The range holds more than ${MAX_SERIES_POINTS} steps of ${step} in ${zone.name}: use a larger step or a shorter range`,
    );
  }
  return shape;
}

/** Devices' series one by one (a CSV column per device), a few at a time. */
async function seriesPerDevice(store: CountsStore, shape: SeriesShape, devices: readonly string[], options: QueryOptions) {
  const perDevice: { device: string; counts: StatusCounts[] }[] = [];
  for (let i = 0; i < devices.length; i += DEVICE_SERIES_AT_ONCE) {
    const batch = devices.slice(i, i + DEVICE_SERIES_AT_ONCE);
    const series = await Promise.all(batch.map((device) => store.series(shape, { ...options, devices: [device] })));
    batch.forEach((device, j) => perDevice.push({ device, counts: (series[j] ?? []).map((point) => point.counts) }));
  }
  return perDevice;
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
    if (kind === 'raw_expired') throw apiError(RAW_EXPIRED, (error as Error).message, { cause: error });
    if (kind === 'catching_up') throw apiError(CATCHING_UP, (error as Error).message, { cause: error });
    throw error;
  }
}
