import { z } from 'zod';
import { deviceIdSchema } from './device';
import type { Status } from './statuses';

/** Largest message body accepted, in bytes. */
export const MAX_MESSAGE_BYTES = 4096;

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

const STATUS_ERROR = 'expected an integer from 0 to 6';

/**
 * A reading message (JSON, UTF-8, at most `MAX_MESSAGE_BYTES`):
 * `{"id": "<uuid>", "status": 0..6, "ts": "<ISO-8601>", "device": "<device id>"}`, only `status`
 * required; unknown fields are ignored.
 */
export const readingSchema = z.object({
  /** Unique per reading; the processor stores each id once. Absent: the processor makes one. */
  id: z
    .uuid({ error: 'expected a UUID' })
    // One reading, one id, however its hex digits are written.
    .transform((id) => id.toLowerCase())
    .optional(),
  status: z
    .number({ error: STATUS_ERROR })
    .int({ error: STATUS_ERROR })
    .min(0, { error: STATUS_ERROR })
    .max(6, { error: STATUS_ERROR })
    // JSON's -0 is a valid 0, and is stored as one.
    .transform((value) => Math.abs(value) as Status),
  /** When the reading was taken. Absent: the time the processor received it. */
  ts: instant.optional(),
  /** Who sent it, when the topic does not say (a shared topic `status`); see `resolveDevice`. */
  device: deviceIdSchema.optional(),
});

/** A reading as decoded from a message (ts a `Date`, id lower-case). */
export type Reading = z.output<typeof readingSchema>;
