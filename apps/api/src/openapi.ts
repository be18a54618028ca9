import { STATUSES } from '@tally/contract';
import { SERIES_STEPS } from '@tally/store';
import { z } from 'zod';
import { deviceQueryParameter } from './device-params';
import { BUSY_RETRY_AFTER_SECONDS } from './query-limit';
import { devicePaths } from './routes/devices';
import { MAX_SERIES_POINTS, TIME_DESCRIPTION } from './schemas';
import { TIME_PATTERN } from './time';

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      String(status),
      { description: ERROR_DESCRIPTIONS[status], content: { 'application/json': { schema: ref('Error') } } },
    ]),
  );

/** A count's or series' 503: the store is down, or the API is busy (API_MAX_CONCURRENT_QUERIES). */
const queryUnavailable = {
  503: {
    description:
      'MongoDB is unavailable (code unavailable), or the API is running API_MAX_CONCURRENT_QUERIES queries already (code busy: try again after Retry-After)',
    headers: {
      'Retry-After': {
        description: `Seconds to wait before asking again (with code busy): ${BUSY_RETRY_AFTER_SECONDS}`,
        schema: { type: 'integer', minimum: 0 },
      },
    },
    content: { 'application/json': { schema: ref('Error') } },
  },
};

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'A time is missing, malformed, or start_time is not before end_time; a device id, limit, prefix or cursor is not valid (series: an unknown step, or too many points)',
  401: 'API_TOKEN is set and the request has no valid bearer token',
  413: 'The body is over 16 KiB',
  415: 'The body is not sent as application/json',
  503: 'MongoDB is unavailable',
  504: 'MongoDB did not answer in time',
};

/** The OpenAPI 3.1 description, generated from the zod schemas that validate requests. */
export function buildOpenApi() {
  // Every schema given an `id` in ./schemas, as JSON Schema 2020-12 (OpenAPI 3.1's dialect).
  const { schemas: generated } = z.toJSONSchema(z.globalRegistry, {
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  const schemas = Object.fromEntries(
    Object.entries(generated).map(([id, { $schema: _dialect, $id: _id, ...schema }]) => [id, schema]),
  );
  const counts = { description: 'Counts per status', content: { 'application/json': { schema: ref('StatusCounts') } } };
  const queryParameter = (name: string, example: string) => ({
    name,
    in: 'query',
    required: true,
    description: TIME_DESCRIPTION,
    schema: { type: 'string', pattern: TIME_PATTERN, examples: [example] },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tally API',
      version: '1.0.0',
      description: `How many readings of each status (${STATUSES[0]}..${STATUSES.at(-1)}) arrived in a time range [start_time, end_time).`,
    },
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Required when API_TOKEN is set' } },
    },
    security: [{ bearer: [] }, {}],
    paths: {
      '/status-counts': {
        post: {
          summary: 'Count readings per status in a time range',
          requestBody: { required: true, content: { 'application/json': { schema: ref('StatusCountsRequest') } } },
          responses: { 200: counts, ...errors(400, 401, 413, 415, 504), ...queryUnavailable },
        },
        get: {
          summary: 'Count readings per status in a time range (query parameters)',
          parameters: [
            queryParameter('start_time', '2024-01-31T00:00:00Z'),
            queryParameter('end_time', '2024-02-01T00:00:00Z'),
            deviceQueryParameter,
          ],
          responses: { 200: counts, ...errors(400, 401, 504), ...queryUnavailable },
        },
      },
      '/status-counts/series': {
        get: {
          summary: 'Counts per status in each UTC-aligned step of a time range, for charts',
          description:
            `At most ${MAX_SERIES_POINTS} points. The first and last points are clipped to the range, ` +
            'so the points add up to what /status-counts answers for it.',
          parameters: [
            queryParameter('start_time', '2024-01-31T00:00:00Z'),
            queryParameter('end_time', '2024-02-01T00:00:00Z'),
            {
              name: 'step',
              in: 'query',
              required: true,
              description: 'Width of each point, aligned to UTC',
              schema: { type: 'string', enum: Object.keys(SERIES_STEPS), examples: ['1h'] },
            },
            deviceQueryParameter,
          ],
          responses: {
            200: { description: 'One point per step', content: { 'application/json': { schema: ref('Series') } } },
            ...errors(400, 401, 504),
            ...queryUnavailable,
          },
        },
      },
      ...devicePaths({ timeParameter: queryParameter, errors, queryUnavailable }),
      '/healthz': {
        get: { summary: 'The process is alive', security: [], responses: { 200: { description: 'Alive' } } },
      },
      '/readyz': {
        get: {
          summary: 'MongoDB answers',
          security: [],
          responses: { 200: { description: 'Ready' }, ...errors(503) },
        },
      },
    },
  };
}
