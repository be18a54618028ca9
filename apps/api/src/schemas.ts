import { STATUSES, type Status } from '@tally/contract';
import { SERIES_STEPS, type SeriesStep } from '@tally/store';
import { z } from '@hono/zod-openapi';
import { deviceQueryList, deviceSelection } from './device-params';
import type { ErrorKind } from './errors';
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

/** Where a field is read: a query parameter (given at most once) or a JSON body's property. */
export type Source = 'query' | 'body';

export function timeField(name: string, example: string, source: Source) {
  return z
    .string({
      error: (issue) => {
        if (issue.input === undefined) return `${name} is required: an ISO-8601 time such as ${example}`;
        // The query validator hands a repeated parameter over as an array of its values.
        if (source === 'query' && Array.isArray(issue.input)) return `${name} is given more than once`;
        return `${name} must be an ISO-8601 time string such as ${example}, not ${describeValue(issue.input)}`;
      },
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
    // As a parameter's own example too, which viewers (Swagger UI) fill into their forms.
    .openapi({ param: { example } })
    .transform((value) => parseInstant(value) as Instant);
}

/**
 * The filters every `/status-counts` operation takes (GET and POST, totals and series): one list,
 * so that a filter added here reaches them all, in the query or in the body.
 */
function countsFilters(source: Source) {
  return {
    start_time: timeField('start_time', EXAMPLE_START, source),
    end_time: timeField('end_time', EXAMPLE_END, source),
    device: source === 'query' ? deviceQueryList.optional() : deviceSelection.optional(),
  };
}

/** The order of the two times, checked only once both are valid times. */
export const RANGE_ORDER = {
  error: 'start_time must be before end_time (the range is [start_time, end_time))',
  when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0,
};
export const inOrder = ({ start_time, end_time }: { start_time: Instant; end_time: Instant }) => compareInstants(start_time, end_time) < 0;

/** `GET /status-counts`: the filters as query parameters. */
export const statusCountsQuery = z.object(countsFilters('query')).refine(inOrder, RANGE_ORDER);

/** `POST /status-counts`: the filters as a JSON body. */
export const statusCountsBody = z
  .object(countsFilters('body'))
  .refine(inOrder, RANGE_ORDER)
  .meta({ id: 'StatusCountsRequest', description: 'A half-open time range [start_time, end_time), of some devices or the whole fleet' });

/** Most points one series answers: a chart wider than a screen has no use for more. */
export const MAX_SERIES_POINTS = 1500;
const STEP_NAMES = Object.keys(SERIES_STEPS) as [SeriesStep, ...SeriesStep[]];

/**
 * The query parameters of `GET /status-counts/series`: the filters and a step. The live stream
 * (./live/params) takes the same, so that a parameter added here reaches both.
 */
export const seriesParameters = {
  ...countsFilters('query'),
  step: z
    .enum(STEP_NAMES, { error: `step must be one of ${STEP_NAMES.join(', ')}` })
    .meta({ description: 'Width of each point, aligned to UTC', examples: ['1h'] })
    .openapi({ param: { example: '1h' } }),
};

/** `GET /status-counts/series`: the filters and a step, as query parameters. */
export const seriesQuery = z.object(seriesParameters).refine(inOrder, RANGE_ORDER);

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

/** A request its operation's schema refuses (the validators' hook in ./app throws it). */
export const INVALID_REQUEST: ErrorKind = {
  status: 400,
  code: 'invalid_request',
  description: 'A parameter is missing, malformed or given more than once (a time, a device id, a limit, a prefix or a cursor), or start_time is not before end_time',
};
