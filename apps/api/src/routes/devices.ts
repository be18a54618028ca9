import { STATUSES, type Status } from '@tally/contract';
import type { Hono } from 'hono';
import { z } from 'zod';
import {
  CURSOR_JSON_PATTERN,
  DEFAULT_DEVICES_PAGE,
  DEFAULT_TOP_DEVICES,
  DEVICE_PREFIX_JSON_PATTERN,
  devicesRequest,
  encodeCursor,
  MAX_DEVICES_PAGE,
  MAX_TOP_DEVICES,
} from '../device-params';
import { ApiError } from '../errors';
import { describeIssues, EXAMPLE_END, EXAMPLE_START, RANGE_ORDER, statusCountsResponse, timeField } from '../schemas';
import { compareInstants, toDate } from '../time';
import { methodNotAllowed } from './methods';
import { singleQueryValues, storeQuery, type CountsRoutesOptions } from './counts';

const NOT_REPEATABLE: ReadonlySet<string> = new Set();
const STATUS_NAMES = STATUSES.map(String) as [string, ...string[]];

/** The query of `GET /status-counts/top-devices`. */
export const topDevicesRequest = z
  .object({
    start_time: timeField('start_time', EXAMPLE_START),
    end_time: timeField('end_time', EXAMPLE_END),
    status: z
      .enum(STATUS_NAMES, { error: `status is required: one of ${STATUS_NAMES.join(', ')}` })
      .transform((status) => Number(status) as Status),
    limit: z
      .string()
      .regex(/^[0-9]{1,7}$/, { error: (issue) => `limit must be a whole number from 1 to ${MAX_TOP_DEVICES}, not ${JSON.stringify(String(issue.input).slice(0, 32))}` })
      .transform(Number)
      .refine((n) => n >= 1 && n <= MAX_TOP_DEVICES, { error: (issue) => `limit must be a whole number from 1 to ${MAX_TOP_DEVICES}, not ${String(issue.input)}` })
      .optional()
      .transform((limit) => limit ?? DEFAULT_TOP_DEVICES),
  })
  .refine(({ start_time, end_time }) => compareInstants(start_time, end_time) < 0, RANGE_ORDER);

export const devicePageResponse = z
  .object({
    devices: z.array(
      z.object({
        device: z.string(),
        first_seen: z.string().meta({ description: 'Time of its earliest reading' }),
        last_seen: z.string().meta({ description: 'Time of its latest reading' }),
        last_status: z.number().int().meta({ description: 'Status of its latest reading' }),
        readings: z.number().int().min(0).meta({ description: 'Its readings stored so far' }),
      }),
    ),
    next_cursor: z.string().optional().meta({ description: 'Pass as cursor for the next page; absent on the last one' }),
  })
  .meta({ id: 'DevicePage', description: 'Devices that sent readings, sorted by id' });

export const topDevicesResponse = z
  .object({
    status: z.number().int(),
    devices: z.array(
      z.object({
        device: z.string(),
        count: z.number().int().min(0).meta({ description: 'Its readings of `status` in the range' }),
        counts: statusCountsResponse,
      }),
    ),
  })
  .meta({ id: 'TopDevices', description: 'The devices with the most readings of status in the range, most first (ties by id); none with zero' });

/** `GET /devices` (the device directory) and `GET /status-counts/top-devices` (most often in a status). */
export function deviceRoutes(app: Hono, options: CountsRoutesOptions): void {
  const { store } = options;
  const query = storeQuery(options);

  app.get('/devices', async (c) => {
    const parsed = devicesRequest.safeParse(singleQueryValues(c, NOT_REPEATABLE));
    if (!parsed.success) throw new ApiError(400, 'invalid_request', describeIssues(parsed.error));
    const { prefix, limit, cursor: after } = parsed.data;
    const page = await query(c, ({ timeoutMs }) =>
      store.listDevices({ limit, timeoutMs, ...(prefix !== undefined && { prefix }), ...(after !== undefined && { after }) }),
    );
    return c.json({
      devices: page.devices.map((summary) => ({
        device: summary.device,
        first_seen: summary.firstSeen.toISOString(),
        last_seen: summary.lastSeen.toISOString(),
        last_status: summary.lastStatus,
        readings: summary.readings,
      })),
      ...(page.next !== undefined && { next_cursor: encodeCursor(page.next) }),
    });
  });
  app.all('/devices', methodNotAllowed('GET, HEAD'));

  app.get('/status-counts/top-devices', async (c) => {
    const parsed = topDevicesRequest.safeParse(singleQueryValues(c, NOT_REPEATABLE));
    if (!parsed.success) throw new ApiError(400, 'invalid_request', describeIssues(parsed.error));
    const { status, limit } = parsed.data;
    const range = { start: toDate(parsed.data.start_time), end: toDate(parsed.data.end_time) };
    const top = await query(c, ({ timeoutMs }) => store.topDevices(range, { status, limit, timeoutMs }));
    return c.json({ status, devices: top.map(({ device, counts }) => ({ device, count: counts[`${status}`], counts })) });
  });
  app.all('/status-counts/top-devices', methodNotAllowed('GET, HEAD'));
}

/** The OpenAPI path items of these routes; `timeParameter`, `errors` and `queryUnavailable` come from ../openapi. */
export function devicePaths<Errors extends object, Unavailable extends object>({
  timeParameter,
  errors,
  queryUnavailable,
}: {
  timeParameter: (name: string, example: string) => object;
  errors: (...statuses: number[]) => Errors;
  queryUnavailable: Unavailable;
}) {
  const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
  const integer = (name: string, min: number, max: number, fallback: number, description: string) => ({
    name,
    in: 'query',
    required: false,
    description: `${description}: ${min} to ${max}, by default ${fallback}`,
    schema: { type: 'integer', minimum: min, maximum: max, default: fallback },
  });
  return {
    '/devices': {
      get: {
        summary: 'Devices that sent readings, sorted by id, a page at a time',
        parameters: [
          {
            name: 'prefix',
            in: 'query',
            required: false,
            description: 'Only devices whose id starts with it (A-Z a-z 0-9 . _ : -, at most 128 characters)',
            schema: { type: 'string', pattern: DEVICE_PREFIX_JSON_PATTERN, examples: ['pump-'] },
          },
          integer('limit', 1, MAX_DEVICES_PAGE, DEFAULT_DEVICES_PAGE, 'Devices per page'),
          {
            name: 'cursor',
            in: 'query',
            required: false,
            description: 'The next_cursor of the previous page, as it was given (opaque); absent: the first page',
            schema: { type: 'string', pattern: CURSOR_JSON_PATTERN },
          },
        ],
        responses: {
          200: { description: 'One page of devices', content: { 'application/json': { schema: ref('DevicePage') } } },
          ...errors(400, 401, 504),
          ...queryUnavailable,
        },
      },
    },
    '/status-counts/top-devices': {
      get: {
        summary: 'The devices most often in a status over a time range',
        parameters: [
          timeParameter('start_time', '2024-01-31T00:00:00Z'),
          timeParameter('end_time', '2024-02-01T00:00:00Z'),
          {
            name: 'status',
            in: 'query',
            required: true,
            description: 'The status whose readings rank the devices',
            schema: { type: 'integer', enum: [...STATUSES] },
          },
          integer('limit', 1, MAX_TOP_DEVICES, DEFAULT_TOP_DEVICES, 'Devices in the list'),
        ],
        responses: {
          200: { description: 'The devices, most first', content: { 'application/json': { schema: ref('TopDevices') } } },
          ...errors(400, 401, 504),
          ...queryUnavailable,
        },
      },
    },
  };
}

