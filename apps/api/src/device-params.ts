import { DEVICE_ID_PATTERN, deviceIdProblem, MAX_DEVICE_ID_LENGTH } from '@tally/contract';
import { z } from 'zod';

/** Most `device` values one count or series takes. */
export const MAX_DEVICES_PER_QUERY = 100;

/** The contract's id characters, as a character class (`[A-Za-z0-9._:-]`). */
const ID_CHARACTER = DEVICE_ID_PATTERN.source.replace(/^\^/, '').replace(/\+\$$/, '');
/** A device id, length included, in one pattern that a JSON Schema can state. */
export const DEVICE_ID_JSON_PATTERN = `^${ID_CHARACTER}{1,${MAX_DEVICE_ID_LENGTH}}$`;
/** The start of a device id (empty: every id). */
export const DEVICE_PREFIX_JSON_PATTERN = `^${ID_CHARACTER}{0,${MAX_DEVICE_ID_LENGTH}}$`;

const FLEET_HINT = 'leave device out to count the whole fleet';

/** Why the device at `path` (`["device", i]` in a list) is not an id: which value, and the rule. */
function deviceValueProblem(value: unknown, path: readonly PropertyKey[] = []): string {
  const index = path.at(-1);
  const which = typeof index === 'number' ? `device ${index + 1} of the list` : 'device';
  if (typeof value !== 'string') return `${which} must be a device id string, not ${value === null ? 'null' : typeof value}`;
  return `${which} is not a device id: ${deviceIdProblem(value) ?? 'unexpected'}`;
}

/** Why `value` cannot be the `device` of a request; `undefined` when it can. */
export function deviceSelectionProblem(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    if (value.length === 0) return `device must name at least one device; ${FLEET_HINT}`;
    if (value.length > MAX_DEVICES_PER_QUERY) {
      return `device names ${value.length} devices; at most ${MAX_DEVICES_PER_QUERY} devices per request`;
    }
    const bad = value.findIndex((item) => typeof item !== 'string' || deviceIdProblem(item) !== undefined);
    return bad === -1 ? undefined : deviceValueProblem(value[bad], [bad]);
  }
  if (typeof value === 'string') return deviceIdProblem(value) === undefined ? undefined : deviceValueProblem(value);
  return `device must be a device id or a list of at most ${MAX_DEVICES_PER_QUERY} of them, not ${value === null ? 'null' : typeof value}`;
}

const deviceId = z
  .string({ error: (issue) => deviceValueProblem(issue.input, issue.path ?? []) })
  .regex(new RegExp(DEVICE_ID_JSON_PATTERN), { error: (issue) => deviceValueProblem(issue.input, issue.path ?? []) });

const bySelection = { error: (issue: { input?: unknown }) => deviceSelectionProblem(issue.input) ?? 'device is not valid' };

/**
 * `device` of a count or series: one id, or a list of at most `MAX_DEVICE_PER_QUERY` (repeated
 * query parameters, or a JSON array); their readings are counted together, each device once.
 * Absent: the whole fleet, readings without a device included.
 */
export const deviceSelection = z
  .union([deviceId, z.array(deviceId).min(1, bySelection).max(MAX_DEVICES_PER_QUERY, bySelection)], bySelection)
  .meta({
    description:
      `Count only these devices' readings, together (each at most once). A device id is 1 to ${MAX_DEVICE_ID_LENGTH} ` +
      `characters of A-Z a-z 0-9 . _ : -; at most ${MAX_DEVICES_PER_QUERY} of them. Absent: the whole fleet`,
    examples: ['pump-17', ['pump-17', 'pump-18']],
  })
  .transform((value) => [...new Set(typeof value === 'string' ? [value] : value)]);

/** The query parameters of a count or series that may be repeated. */
export const REPEATABLE_PARAMETERS: ReadonlySet<string> = new Set(['device']);

/** The OpenAPI parameter `device` of the GET counts and series: repeatable, `device=a&device=b`. */
export const deviceQueryParameter = {
  name: 'device',
  in: 'query',
  required: false,
  style: 'form',
  explode: true,
  description:
    `Count only these devices' readings, together: repeat it for several (device=a&device=b), at most ` +
    `${MAX_DEVICES_PER_QUERY}; duplicates count once. A device id is 1 to ${MAX_DEVICE_ID_LENGTH} characters of ` +
    'A-Z a-z 0-9 . _ : -. Absent: the whole fleet, readings without a device included',
  schema: {
    type: 'array',
    items: { type: 'string', pattern: DEVICE_ID_JSON_PATTERN },
    maxItems: MAX_DEVICES_PER_QUERY,
  },
} as const;

/** `/devices`: the default page size, and the largest. */
export const DEFAULT_DEVICES_PAGE = 100;
export const MAX_DEVICES_PAGE = 1000;
/** `/status-counts/top-devices`: the default length of the list, and the longest. */
export const DEFAULT_TOP_DEVICES = 10;
export const MAX_TOP_DEVICES = 100;

/** The bytes of the characters a device id may hold, in hex, grouped by their first digit: `2[de]|3[0-9a]|…`. */
const ID_BYTES = (() => {
  const byHigh = new Map<string, string>();
  for (let byte = 0; byte < 128; byte++) {
    if (!DEVICE_ID_PATTERN.test(String.fromCharCode(byte))) continue;
    const high = (byte >> 4).toString(16);
    byHigh.set(high, `${byHigh.get(high) ?? ''}${(byte & 15).toString(16)}`);
  }
  return [...byHigh].map(([high, lows]) => `${high}[${lows}]`).join('|');
})();
/**
 * A cursor: the hex of a device id's characters, lower case. Opaque to clients, and unlike base64
 * exactly stated by a pattern, so that the OpenAPI description says which cursors are valid.
 */
export const CURSOR_JSON_PATTERN = `^(?:${ID_BYTES}){1,${MAX_DEVICE_ID_LENGTH}}$`;
const CURSOR_PATTERN = new RegExp(CURSOR_JSON_PATTERN);

/** The cursor that continues a device list after `device`. */
export function encodeCursor(device: string): string {
  return Buffer.from(device, 'latin1').toString('hex');
}

/** The device a cursor continues after, or `undefined` when it is not one that `encodeCursor` gave. */
export function decodeCursor(cursor: string): string | undefined {
  return CURSOR_PATTERN.test(cursor) ? Buffer.from(cursor, 'hex').toString('latin1') : undefined;
}

/** A whole number given as a query parameter, from `min` to `max`. */
function wholeNumber(name: string, min: number, max: number) {
  const problem = (input: unknown) => `${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(String(input).slice(0, 32))}`;
  return z
    .string({ error: (issue) => problem(issue.input) })
    .regex(/^[0-9]{1,7}$/, { error: (issue) => problem(issue.input) })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: (issue) => problem(issue.input) });
}

/** The query of `GET /devices`. */
export const devicesRequest = z.object({
  prefix: z
    .string()
    .regex(new RegExp(DEVICE_PREFIX_JSON_PATTERN), {
      error: (issue) =>
        `prefix must be the start of a device id: at most ${MAX_DEVICE_ID_LENGTH} characters of A-Z a-z 0-9 . _ : -, not ${JSON.stringify(String(issue.input).slice(0, 64))}`,
    })
    .optional(),
  limit: wholeNumber('limit', 1, MAX_DEVICES_PAGE).optional().transform((limit) => limit ?? DEFAULT_DEVICES_PAGE),
  cursor: z
    .string()
    .transform((cursor, ctx) => {
      const after = decodeCursor(cursor);
      if (after === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'cursor is not one this API gave out: pass the next_cursor of the previous page as it is, or leave cursor out to start at the first device',
        });
        return z.NEVER;
      }
      return after;
    })
    .optional(),
});
