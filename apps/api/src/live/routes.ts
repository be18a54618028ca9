import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { SERIES_STEPS, seriesShape, type SeriesShape, type TimeRange } from '@tally/store';
import { apiError, retryAfter, type ErrorKind } from '../errors';
import { errorResponses } from '../openapi';
import { checkSeriesPoints, QUERY_ERRORS, RANGE_ERRORS, storeQuery, TOO_MANY_POINTS, withTimeout, type CountsRoutesOptions } from '../routes/counts';
import { INVALID_REQUEST } from '../schemas';
import type { CountsStore } from '../store';
import { toDate } from '../time';
import type { LiveHub, ReadPoints, StreamSpec } from './hub';
import { streamQuery } from './params';
import { windowRange } from './plan';
import { RECONNECT_MS } from './sse';

/** Seconds a client refused for `API_MAX_STREAMS` should wait before it asks again. */
export const STREAMS_RETRY_AFTER_SECONDS = 5;

export const TOO_MANY_STREAMS: ErrorKind = {
  status: 503,
  code: 'too_many_streams',
  description: 'API_MAX_STREAMS streams are open already: try again after Retry-After, or poll /status-counts/series',
  ...retryAfter('too_many_streams', STREAMS_RETRY_AFTER_SECONDS),
};

const EVENTS_DESCRIPTION = [
  'Server-Sent Events (text/event-stream), each with an `id` to resume from (`Last-Event-ID`):',
  '`series` first: the whole series, as GET /status-counts/series answers it;',
  "then `points` whenever counts change, at most one a second: the points that changed (replace the ones with the same `start`), with the range's `start_time` and `end_time`",
  '(a `window` moves on: drop the points before `start_time`).',
  '`unavailable` when MongoDB stops answering (`{"status": 503 or 504, "error": {"code", "message"}}`); the stream stays open, and the next `points` holds the whole range.',
  'Reconnecting with `Last-Event-ID` sends `points` with what changed since, or `series` when that is no longer known.',
  `A comment line (\`: heartbeat\`) every 15 s; \`retry: ${RECONNECT_MS}\` first.`,
  'A client that leaves data unread (slow, or gone without closing) is dropped.',
].join(' ');

export const streamSeries = createRoute({
  operationId: 'streamSeries',
  method: 'get',
  path: '/status-counts/stream',
  summary: 'The series of a range, then its changed points as they are stored (Server-Sent Events)',
  description: EVENTS_DESCRIPTION,
  request: {
    query: streamQuery,
    headers: z.object({
      'last-event-id': z.string().max(64).optional().meta({ description: 'The id of the last event received, to resume after it' }),
    }),
  },
  responses: {
    200: { description: EVENTS_DESCRIPTION, content: { 'text/event-stream': { schema: z.string() } } },
    ...errorResponses(...QUERY_ERRORS, ...RANGE_ERRORS, TOO_MANY_POINTS, TOO_MANY_STREAMS),
  },
});

export interface LiveRoutesOptions extends CountsRoutesOptions {
  hub: LiveHub;
  /** Most streams open at once; past it a 503 `too_many_streams` with `Retry-After`. */
  maxStreams: number;
}

/**
 * The hub's reads: the store's series of a stretch, within the request time bound and failing as
 * requests do (503, 504), outside the query limit (a tick serves every viewer at once).
 */
export function storeReads({ store, requestTimeoutMs }: Pick<CountsRoutesOptions, 'store' | 'requestTimeoutMs'>): ReadPoints {
  return (range, spec) => withTimeout(store, requestTimeoutMs, pointsOf(store, range, spec));
}

/**
 * The store's read of the points of `range` in the stream's zone, of its devices (a stream's ranges
 * are runs of its points, never more than the series allows).
 */
function pointsOf(store: CountsStore, range: TimeRange, { step, zone, devices }: StreamSpec) {
  return ({ timeoutMs }: { timeoutMs: number }) => store.series(seriesShape(range, step, zone) as SeriesShape, { timeoutMs, ...(devices && { devices }) });
}

/** `GET /status-counts/stream`: the series' parameters, checked as the series checks them, before the stream opens. */
export function liveRoutes(app: OpenAPIHono, options: LiveRoutesOptions): void {
  const { hub, maxStreams, store } = options;
  const query = storeQuery(options);

  app.openapi(streamSeries, async (c) => {
    const { step, tz: zone, device: devices, start_time, end_time, window: windowMs } = c.req.valid('query');
    const spec: StreamSpec =
      windowMs === undefined
        ? { step, zone, devices, range: { start: toDate(start_time as NonNullable<typeof start_time>), end: toDate(end_time as NonNullable<typeof end_time>) } }
        : { step, zone, devices, windowMs };
    const rule = SERIES_STEPS[step];
    if (windowMs !== undefined && rule.kind !== 'month' && windowMs % rule.ms !== 0) {
      throw apiError(INVALID_REQUEST, `window must be a whole number of steps of ${step}: use a window that ${step} divides, or another step`);
    }
    checkSeriesPoints(spec.range ?? windowRange(Date.now(), windowMs as number, step, zone), step, zone);
    if (hub.size >= maxStreams) {
      throw apiError(TOO_MANY_STREAMS, `${maxStreams} streams are open already; try again in ${STREAMS_RETRY_AFTER_SECONDS} s, or poll /status-counts/series`);
    }
    // Node's response, when served by Node: a dropped client's connection is closed at once.
    const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
    const opening = hub.open(spec, { lastEventId: c.req.valid('header')['last-event-id'], ...(outgoing && { abort: () => outgoing.destroy() }) });
    try {
      return (await opening.start((range) => query(pointsOf(store, range, spec)))) as never;
    } catch (error) {
      opening.cancel();
      throw error;
    }
  });
}
