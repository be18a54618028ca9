import { STATUSES, type Status } from '@tally/contract';
import { SERIES_STEPS, type SeriesStep } from '@tally/store';
import { z } from 'zod';
import { deviceSelection } from './device-params';
import { compareInstants, parseInstant, TIME_PATTERN, type Instant } from './time';

export const EXAMPLE_START = '2024-01-31T00:00:00Z';
export const EXAMPLE_END = '2024-02-01T00:00:00+05:30';

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

export const TIME_DESCRIPTION =
  'ISO-8601 time: a date (years 0000-9999, or -271820 to +275759 with a sign and six digits), ' +
  'optionally a time (to the nanosecond) and an offset; without an offset it is read as UTC. ' +
  'A time between two milliseconds counts from the next one (readings are stored to the millisecond)';

const timePattern = new RegExp(TIME_PATTERN);
/** A time whose offset lost its `+`: in a query string an unencoded `+` reads as a space. */
const DECODED_PLUS = /[0-9] (?:[01][0-9]|2[0-3]):?[0-5][0-9]$/;

export function timeField(name: string, example: string) {
  return z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? `${name} is required: an ISO-8601 time such as ${example}`
          : `${name} must be an ISO-8601 time string such as ${example}, not ${describeValue(issue.input)}`,
    })
    .regex(timePattern, {
      error: (issue) => {
        const value = String(issue.input);
        return DECODED_PLUS.test(value)
          ? `${name} "${value.slice(0, 64)}" has a space where the + of its offset should be: in a query string, encode + as %2B (${value.slice(0, 64).replace(/ (?=[0-9:]+$)/, '%2B')})`
          : `${name} "${value.slice(0, 64)}" is not an ISO-8601 time that exists, e.g. ${example}`;
      },
    })
    .meta({ description: TIME_DESCRIPTION, examples: [example] })
    .transform((value) => parseInstant(value) as Instant);
}

/** The order of the two times, checked only once both are valid times. */
export const RANGE_ORDER = {
  error: 'start_time must be before end_time (the range is [start_time, end_time))',
  when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0,
};

/** The request of `/status-counts`, as a POST body or as GET query parameters. */
export const statusCountsRequest = z
  .object({
    start_time: timeField('start_time', EXAMPLE_START),
    end_time: timeField('end_time', EXAMPLE_END),
    device: deviceSelection.optional(),
  })
  .refine(({ start_time, end_time }) => compareInstants(start_time, end_time) < 0, RANGE_ORDER)
  .meta({ id: 'StatusCountsRequest', description: 'A half-open time range [start_time, end_time), of some devices or the whole fleet' });

/** Most points one series answers: a chart wider than a screen has no use for more. */
export const MAX_SERIES_POINTS = 1500;
const STEP_NAMES = Object.keys(SERIES_STEPS) as [SeriesStep, ...SeriesStep[]];

/** The request of `/status-counts/series`: a range and a step, as GET query parameters. */
export const seriesRequest = z
  .object({
    start_time: timeField('start_time', EXAMPLE_START),
    end_time: timeField('end_time', EXAMPLE_END),
    step: z
      .enum(STEP_NAMES, { error: `step must be one of ${STEP_NAMES.join(', ')}` })
      .meta({ description: 'Width of each point, aligned to UTC', examples: ['1h'] }),
    device: deviceSelection.optional(),
  })
  .refine(({ start_time, end_time }) => compareInstants(start_time, end_time) < 0, RANGE_ORDER)
  .meta({ id: 'SeriesRequest' });

const count = z.number().int().min(0);
/** One count per status of the contract, keyed by the status. */
const countPerStatus = Object.fromEntries(STATUSES.map((status) => [status, count])) as Record<`${Status}`, typeof count>;

export const statusCountsResponse = z
  .object(countPerStatus)
  .meta({
    id: 'StatusCounts',
    description: 'Readings of each status in the range; every status present, zeros included',
    examples: [{ 0: 1, 1: 4, 2: 3, 3: 1, 4: 3, 5: 3, 6: 2 }],
  });

export const errorResponse = z
  .object({
    error: z.object({
      code: z.string().meta({ examples: ['invalid_request'] }),
      message: z.string().meta({ examples: ['start_time must be before end_time'] }),
    }),
  })
  .meta({ id: 'Error' });

/** One sentence naming each problem, for a 400. */
export function describeIssues(error: z.ZodError): string {
  return [...new Set(error.issues.map((issue) => issue.message))].join('; ');
}

export const seriesResponse = z
  .object({
    start_time: z.string(),
    end_time: z.string(),
    step: z.enum(STEP_NAMES),
    points: z.array(
      z.object({
        start: z.string().meta({ description: 'Start of the point: the step bucket, or start_time for the first' }),
        counts: statusCountsResponse,
      }),
    ),
  })
  .meta({
    id: 'Series',
    description:
      'Counts per status in each UTC-aligned step of the range; the first and last points are clipped to the range, so the points add up to the range\'s counts',
  });
