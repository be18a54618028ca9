import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { STATUSES, type Status } from '@tally/contract';
import { CURSOR_JSON_PATTERN, DEFAULT_TOP_DEVICES, devicesRequest, encodeCursor, MAX_TOP_DEVICES, wholeNumberParameter } from '../device-params';
import { errorResponses, jsonContent } from '../openapi';
import { EXAMPLE_END, EXAMPLE_START, inOrder, RANGE_ORDER, statusCountsResponse, timeField } from '../schemas';
import { toDate } from '../time';
import { QUERY_ERRORS, RANGE_ERRORS, storeQuery, type CountsRoutesOptions } from './counts';

const STATUS_NAMES = STATUSES.map(String) as [string, ...string[]];
const TOP_STATUS_EXAMPLE = String(STATUSES.at(-1));

/** The query of `GET /status-counts/top-devices`. */
export const topDevicesRequest = z
  .object({
    start_time: timeField('start_time', EXAMPLE_START, 'query'),
    end_time: timeField('end_time', EXAMPLE_END, 'query'),
    status: z
      .enum(STATUS_NAMES, { error: `status is required: one of ${STATUS_NAMES.join(', ')}` })
      .meta({ description: 'The status whose readings rank the devices', examples: [TOP_STATUS_EXAMPLE] })
      .openapi({ param: { example: TOP_STATUS_EXAMPLE } })
      .transform((status) => Number(status) as Status),
    limit: wholeNumberParameter('limit', { min: 1, max: MAX_TOP_DEVICES, fallback: DEFAULT_TOP_DEVICES, description: 'Devices in the list' }),
  })
  .refine(inOrder, RANGE_ORDER);

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
    next_cursor: z.string().regex(new RegExp(CURSOR_JSON_PATTERN)).optional().meta({ description: 'Pass as cursor for the next page; absent on the last one' }),
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

export const listDevices = createRoute({
  operationId: 'listDevices',
  method: 'get',
  path: '/devices',
  summary: 'Devices that sent readings, sorted by id, a page at a time',
  request: { query: devicesRequest },
  responses: {
    200: { description: 'One page of devices', content: jsonContent(devicePageResponse) },
    ...errorResponses(...QUERY_ERRORS),
  },
});

export const getTopDevices = createRoute({
  operationId: 'getTopDevices',
  method: 'get',
  path: '/status-counts/top-devices',
  summary: 'The devices most often in a status over a time range',
  request: { query: topDevicesRequest },
  responses: {
    200: { description: 'The devices, most first', content: jsonContent(topDevicesResponse) },
    ...errorResponses(...QUERY_ERRORS, ...RANGE_ERRORS),
  },
});

/** `GET /devices` (the device directory) and `GET /status-counts/top-devices` (most often in a status). */
export function deviceRoutes(app: OpenAPIHono, options: CountsRoutesOptions): void {
  const { store } = options;
  const query = storeQuery(options);

  app.openapi(listDevices, async (c) => {
    const { prefix, limit, cursor: after } = c.req.valid('query');
    const page = await query(({ timeoutMs }) =>
      store.listDevices({ limit, timeoutMs, ...(prefix !== undefined && { prefix }), ...(after !== undefined && { after }) }),
    );
    return c.json(
      {
        devices: page.devices.map((summary) => ({
          device: summary.device,
          first_seen: summary.firstSeen.toISOString(),
          last_seen: summary.lastSeen.toISOString(),
          last_status: summary.lastStatus,
          readings: summary.readings,
        })),
        ...(page.next !== undefined && { next_cursor: encodeCursor(page.next) }),
      },
      200,
    );
  });

  app.openapi(getTopDevices, async (c) => {
    const { status, limit, start_time, end_time } = c.req.valid('query');
    const range = { start: toDate(start_time), end: toDate(end_time) };
    const top = await query(({ timeoutMs }) => store.topDevices(range, { status, limit, timeoutMs }));
    return c.json({ status, devices: top.map(({ device, counts }) => ({ device, count: counts[`${status}`], counts })) }, 200);
  });
}
