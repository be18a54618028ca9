import { DEVICE_ID_PATTERN, deviceIdProblem, MAX_DEVICE_ID_LENGTH } from '@tally/contract';
import { z } from '@hono/zod-openapi';

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

const ID_RULE = `A device id is 1 to ${MAX_DEVICE_ID_LENGTH} characters of A-Z a-z 0-9 . _ : -`;

/**
 * `device` of a count or series in a JSON body: one id, or a list of at most
 * `MAX_DEVICES_PER_QUERY`; their readings are counted together, each device once. Absent: the whole
 * fleet, readings without a device included.
 */
export const deviceSelection = z
  .union([deviceId, z.array(deviceId).min(1, bySelection).max(MAX_DEVICES_PER_QUERY, bySelection)], bySelection)
  .meta({
    description: `Count only these devices' readings, together (each at most once). ${ID_RULE}; at most ${MAX_DEVICES_PER_QUERY} of them. Absent: the whole fleet`,
    examples: ['pump-17', ['pump-17', 'pump-18']],
  })
  .transform((value) => [...new Set(typeof value === 'string' ? [value] : value)]);

/**
 * `device` of a count or series as a query parameter, repeated for several (`device=a&device=b`):
 * always a list, however many times it is given (the query validator hands over one value as a
 * string, several as an array).
 */
export const deviceQueryList = z
  .preprocess(
    (value) => (typeof value === 'string' ? [value] : value),
    z.array(deviceId).min(1, bySelection).max(MAX_DEVICES_PER_QUERY, bySelection),
  )
  .meta({
    description:
      `Count only these devices' readings, together: repeat it for several (device=a&device=b), at most ` +
      `${MAX_DEVICES_PER_QUERY}; duplicates count once. ${ID_RULE}. Absent: the whole fleet, readings without a device included`,
    examples: [['pump-17', 'pump-18']],
  })
  .openapi({ param: { style: 'form', explode: true, example: ['pump-17', 'pump-18'] } })
  .transform((value) => [...new Set(value)]);

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

/** Why a query parameter given more than once is refused (the validator hands it over as an array). */
const repeated = (name: string, input: unknown) => (Array.isArray(input) ? `${name} is given more than once` : undefined);

/** A whole number given as a query parameter, from `min` to `max`; `fallback` when absent. */
export function wholeNumberParameter(name: string, { min, max, fallback, description }: { min: number; max: number; fallback: number; description: string }) {
  const problem = (input: unknown) =>
    repeated(name, input) ?? `${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(String(input).slice(0, 32))}`;
  const error = (issue: { input?: unknown }) => problem(issue.input);
  return z
    .preprocess(
      (value) => (typeof value === 'string' && /^[0-9]{1,7}$/.test(value) ? Number(value) : value),
      z.number({ error }).int({ error }).min(min, { error }).max(max, { error }),
    )
    .optional()
    .meta({ description: `${description}: ${min} to ${max}, by default ${fallback}`, default: fallback })
    .transform((value) => value ?? fallback);
}

/** The query of `GET /devices`. */
export const devicesRequest = z.object({
  prefix: z
    .string({ error: (issue) => repeated('prefix', issue.input) ?? 'prefix must be a string' })
    .regex(new RegExp(DEVICE_PREFIX_JSON_PATTERN), {
      error: (issue) =>
        `prefix must be the start of a device id: at most ${MAX_DEVICE_ID_LENGTH} characters of A-Z a-z 0-9 . _ : -, not ${JSON.stringify(String(issue.input).slice(0, 64))}`,
    })
    .meta({ description: `Only devices whose id starts with it (A-Z a-z 0-9 . _ : -, at most ${MAX_DEVICE_ID_LENGTH} characters)`, examples: ['pump-'] })
    .openapi({ param: { example: 'pump-' } })
    .optional(),
  limit: wholeNumberParameter('limit', { min: 1, max: MAX_DEVICES_PAGE, fallback: DEFAULT_DEVICES_PAGE, description: 'Devices per page' }),
  cursor: z
    .string({ error: (issue) => repeated('cursor', issue.input) ?? 'cursor must be a string' })
    // The exact pattern, so that the document says which cursors are valid (Schemathesis sends them).
    .regex(CURSOR_PATTERN, {
      error: 'cursor is not one this API gave out: pass the next_cursor of the previous page as it is, or leave cursor out to start at the first device',
    })
    .meta({ description: 'The next_cursor of the previous page, as it was given (opaque); absent: the first page' })
    .transform((cursor) => decodeCursor(cursor) as string)
    .optional(),
});
