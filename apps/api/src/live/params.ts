import { z } from '@hono/zod-openapi';
import { EXAMPLE_START, inOrder, RANGE_ORDER, seriesFields } from '../schemas';
import type { Instant } from '../time';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const WINDOW_PATTERN = /^([1-9][0-9]{0,5})([mhd])$/;
const WINDOW_EXAMPLE = '1h';

/** A window such as `15m`, `1h`, `30d` in milliseconds; `undefined` when it is not one. */
export function parseWindow(value: string): number | undefined {
  const match = WINDOW_PATTERN.exec(value);
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : undefined;
}

const windowField = z
  .string({ error: (issue) => (Array.isArray(issue.input) ? 'window is given more than once' : 'window must be a string such as 1h') })
  .regex(WINDOW_PATTERN, {
    error: (issue) => `window must be a whole number of minutes, hours or days such as 15m, ${WINDOW_EXAMPLE} or 30d, not ${JSON.stringify(String(issue.input).slice(0, 32))}`,
  })
  // No example: the document's examples make one request, and it gives start_time and end_time.
  .meta({
    description: `Instead of start_time and end_time: the newest readings over this long (15m, ${WINDOW_EXAMPLE}, 24h, 30d, ...; a whole number of steps, but for 1mo), up to where the next step in tz begins; the range moves on when that step begins, and the events say where it is. It starts this long before its end: where that is within a step (a day of 23 or 25 hours in between, months), the first point is clipped to it, as in a series`,
  })
  .transform((value) => parseWindow(value) as number)
  .optional();

/**
 * `GET /status-counts/stream`: the series' parameters (the same schema, so that each of its filters,
 * its steps and its zones apply here too), with the range given either by `start_time` and
 * `end_time` or by `window`.
 */
export const streamQuery = z
  .object({
    ...seriesFields,
    start_time: seriesFields.start_time.optional(),
    end_time: seriesFields.end_time.optional(),
    window: windowField,
  })
  .superRefine((query, ctx) => {
    const { start_time, end_time, window } = query;
    if (window !== undefined) {
      if (start_time !== undefined || end_time !== undefined) {
        ctx.addIssue({ code: 'custom', message: 'Give either window or start_time and end_time, not both' });
      }
      return;
    }
    if (start_time === undefined && end_time === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `start_time and end_time are required (ISO-8601 times such as ${EXAMPLE_START}), or window (such as ${WINDOW_EXAMPLE}) for a range that ends now`,
      });
    } else if (start_time === undefined || end_time === undefined) {
      ctx.addIssue({ code: 'custom', message: `${start_time === undefined ? 'start_time' : 'end_time'} is required with ${start_time === undefined ? 'end_time' : 'start_time'}` });
    } else if (!inOrder({ start_time: start_time as Instant, end_time: end_time as Instant })) {
      ctx.addIssue({ code: 'custom', message: RANGE_ORDER.error });
    }
  });
