import { randomInt } from 'node:crypto';
import { v5 as uuidv5, v7 as uuidv7 } from 'uuid';
import { STATUSES, type Status } from '@tally/config';
import { z } from 'zod';

/** Largest message body accepted, in bytes. */
export const MAX_MESSAGE_BYTES = 4096;

/** A status reading as it travels: `{"id": "<uuid>", "status": 0..6, "ts": "<ISO-8601>"}`. */
export interface Reading {
  /** Unique per reading; the processor stores each id once. Absent: the processor makes one. */
  id?: string;
  status: Status;
  /** When the reading was taken. Absent: the time the processor received it. */
  ts?: Date;
}

const INSTANT_ERROR = 'expected an ISO-8601 instant with Z or an offset';
const isoInstant = z.iso.datetime({ offset: true });
/**
 * A year written with a sign and six digits (ISO 8601's expanded years), as `Date#toISOString`
 * writes the years outside 0000-9999 and the API accepts them.
 */
const EXPANDED_YEAR_INSTANT =
  /^([+-][0-9]{6})-([0-9]{2})-([0-9]{2})T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$/;

function isExpandedYearInstant(value: string): boolean {
  const [, year, month, day] = EXPANDED_YEAR_INSTANT.exec(value) ?? [];
  if (year === undefined || year === '-000000') return false; // ISO 8601 has no negative zero
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  const exists = date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
  return exists && Number.isFinite(new Date(value).getTime());
}

/** An instant: a date that exists, a time, and `Z` or a `±hh:mm` offset. */
const instant = z
  .string({ error: INSTANT_ERROR })
  .refine((value) => isoInstant.safeParse(value).success || isExpandedYearInstant(value), { error: INSTANT_ERROR })
  .transform((value) => new Date(value));

export const readingSchema = z.object({
  // One reading, one id, however its hex digits are written.
  id: z
    .uuid({ error: 'expected a UUID' })
    .transform((id) => id.toLowerCase())
    .optional(),
  status: z
    .number({ error: 'expected an integer from 0 to 6' })
    .int({ error: 'expected an integer from 0 to 6' })
    .min(0, { error: 'expected an integer from 0 to 6' })
    .max(6, { error: 'expected an integer from 0 to 6' })
    // JSON's -0 is a valid 0, and is stored as one.
    .transform((value) => Math.abs(value) as Status),
  ts: instant.optional(),
});

export type DecodeFailureReason = 'invalid_json' | 'invalid_schema' | 'too_large';

export type DecodeResult =
  | { ok: true; reading: Reading }
  | { ok: false; reason: DecodeFailureReason; detail: string };

/** Reads a message body. Never throws: a bad body yields the reason and a detail a person can act on. */
export function decode(body: Uint8Array | string): DecodeResult {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (size > MAX_MESSAGE_BYTES) {
    return { ok: false, reason: 'too_large', detail: `body is ${size} bytes, over the limit of ${MAX_MESSAGE_BYTES}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
  } catch (error) {
    return { ok: false, reason: 'invalid_json', detail: (error as Error).message };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, reason: 'invalid_schema', detail: `expected a JSON object, got ${describe(json)}` };
  }
  const result = readingSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join('.') || 'body';
    return { ok: false, reason: 'invalid_schema', detail: `${field}: ${issue?.message}` };
  }
  const { id, status, ts } = result.data;
  return { ok: true, reading: { status, ...(id !== undefined && { id }), ...(ts !== undefined && { ts }) } };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** The JSON body of a reading, UTF-8. */
export function encode(reading: Reading): Buffer {
  return Buffer.from(
    JSON.stringify({
      ...(reading.id !== undefined && { id: reading.id }),
      status: reading.status,
      ...(reading.ts !== undefined && { ts: reading.ts.toISOString() }),
    }),
  );
}

/** A new reading with a uniformly random status, a time-ordered id (UUIDv7) and the given time. */
export function randomReading(ts: Date = new Date()): Required<Reading> {
  return { id: uuidv7({ msecs: ts.getTime() }), status: randomInt(0, STATUSES.length) as Status, ts };
}

/** Namespace of the ids derived from a reading's content (UUIDv5). */
const CONTENT_ID_NAMESPACE = '6f1d3c52-7a0e-4b8e-9d3c-1b2a4c6e8f00';

/**
 * The id a reading is stored under: its own, else one derived from where it came from and what it
 * says when it carries a `ts` (so that a redelivery is stored once), else a new one (a reading with
 * neither `id` nor `ts` cannot be told apart from a copy of itself).
 */
export function readingId(reading: Reading, routingKey: string): string {
  if (reading.id !== undefined) return reading.id;
  if (reading.ts !== undefined) return uuidv5(`${routingKey}\n${encode(reading).toString()}`, CONTENT_ID_NAMESPACE);
  return uuidv7();
}
