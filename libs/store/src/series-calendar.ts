/**
 * A series' steps as people read them, in a time zone: where each point starts, as UTC instants.
 * Pure (the zone's offsets come from `Intl`), so the dashboard runs it in the browser too.
 */
import type { TimeRange } from './status-counts';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * How a step cuts time. `fixed`: spans of `ms` that start where the local clock reads a multiple
 * of it, and at every change of the zone's offset (so an hour is an hour, 25 of them on the day
 * clocks go back). `clock`: the local periods of `ms` from `phase` (quarter days, days from local
 * midnight, weeks from Monday), 23 or 25 hours when clocks change within them. `month`: local months.
 */
export type StepRule = { kind: 'fixed' | 'clock'; ms: number; phase: number } | { kind: 'month'; ms: number; phase: 0 };

/** The steps a series takes, finest first; `ms` is a month's mean length for `1mo` (estimates only). */
export const SERIES_STEPS = {
  '1m': { kind: 'fixed', ms: MINUTE_MS, phase: 0 },
  '5m': { kind: 'fixed', ms: 5 * MINUTE_MS, phase: 0 },
  '15m': { kind: 'fixed', ms: 15 * MINUTE_MS, phase: 0 },
  '1h': { kind: 'fixed', ms: HOUR_MS, phase: 0 },
  '6h': { kind: 'clock', ms: 6 * HOUR_MS, phase: 0 },
  '1d': { kind: 'clock', ms: DAY_MS, phase: 0 },
  // 1970-01-05, four days after the epoch, was a Monday (ISO weeks start on Mondays).
  '1w': { kind: 'clock', ms: 7 * DAY_MS, phase: 4 * DAY_MS },
  '1mo': { kind: 'month', ms: 2_629_746_000, phase: 0 },
} as const satisfies Record<string, StepRule>;
export type SeriesStep = keyof typeof SERIES_STEPS;
export const SERIES_STEP_NAMES = Object.keys(SERIES_STEPS) as [SeriesStep, ...SeriesStep[]];

/** A zone's offset from UTC at each instant: local time = `t + offsetAt(t)`. */
export interface TimeZone {
  /** The zone's name, as given. */
  name: string;
  offsetAt(t: number): number;
}

export const UTC: TimeZone = { name: 'UTC', offsetAt: () => 0 };

/** Current IANA names that ICU lists under an older one (`Asia/Calcutta`), and UTC, which it lists as none. */
const IANA_NAMES_ICU_LISTS_AS_OLDER = [
  'UTC',
  'Africa/Asmara',
  'America/Argentina/Buenos_Aires',
  'America/Argentina/Catamarca',
  'America/Argentina/Cordoba',
  'America/Argentina/Jujuy',
  'America/Argentina/Mendoza',
  'America/Atikokan',
  'America/Indiana/Indianapolis',
  'America/Kentucky/Louisville',
  'America/Nuuk',
  'Asia/Ho_Chi_Minh',
  'Asia/Kathmandu',
  'Asia/Kolkata',
  'Asia/Yangon',
  'Atlantic/Faroe',
  'Europe/Kyiv',
  'Pacific/Chuuk',
  'Pacific/Kanton',
  'Pacific/Pohnpei',
];

/** The names of every time zone, sorted: `Intl`'s, and the current IANA names of those it lists under older ones. */
export function timeZoneNames(): string[] {
  const names = new Set([...Intl.supportedValuesOf('timeZone'), ...IANA_NAMES_ICU_LISTS_AS_OLDER.filter((name) => timeZone(name))]);
  return [...names].sort();
}

const zones = new Map<string, TimeZone>([['UTC', UTC]]);
const OFFSET = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** The zone named `name` (an IANA name; `Intl` takes any case), or `undefined` when `Intl` knows no such zone. */
export function timeZone(name: string): TimeZone | undefined {
  const known = zones.get(name);
  if (known) return known;
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset' });
  } catch {
    return undefined;
  }
  const canonical = format.resolvedOptions().timeZone;
  const zone: TimeZone =
    canonical === 'UTC' || canonical === 'Etc/UTC'
      ? UTC
      : {
          name,
          offsetAt: (t) => {
            const [, sign, hours = '0', minutes = '0', seconds = '0'] = OFFSET.exec(format.format(t).split(', ').at(-1) ?? '') ?? [];
            const ms = ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
            return sign === '-' ? -ms : ms;
          },
        };
  if (zones.size < 1000) zones.set(name, zone);
  return zone;
}

/** A stretch of constant offset. */
export type OffsetSpan = { start: number; end: number; offset: number };

/**
 * How far apart the offsets are sampled: every change of offset is found to the millisecond
 * between two samples that differ. No zone changes its offset and back within that: the closest
 * changes in the tz database since 1900 are 7 days apart (America/Noronha, October 2000).
 */
const SAMPLE_MS = 3 * DAY_MS;

/** `[start, end)` cut where the zone's offset changes, in time order. */
export function* offsetSpans(zone: TimeZone, start: number, end: number): Generator<OffsetSpan> {
  let from = start;
  let offset = zone.offsetAt(start);
  if (zone === UTC) {
    if (start < end) yield { start, end, offset };
    return;
  }
  for (let at = start; at < end; ) {
    const next = Math.min(at + SAMPLE_MS, end - 1);
    if (next <= at || zone.offsetAt(next) === offset) {
      at = next <= at ? end : next;
      continue;
    }
    // The first instant in (at, next] with another offset.
    let [low, high] = [at, next];
    while (high - low > 1) {
      const middle = low + Math.floor((high - low) / 2);
      if (zone.offsetAt(middle) === offset) low = middle;
      else high = middle;
    }
    yield { start: from, end: high, offset };
    [from, at, offset] = [high, high, zone.offsetAt(high)];
  }
  yield { start: from, end, offset };
}

/** A local period's number for the local time `local` (ms as if UTC), and where period `i` starts. */
function periodsOf(rule: StepRule): { index(local: number): number; start(i: number): number } {
  if (rule.kind === 'month') {
    return {
      index: (local) => {
        const date = new Date(local);
        return date.getUTCFullYear() * 12 + date.getUTCMonth();
      },
      // setUTCFullYear, not Date.UTC, which reads years 0-99 as 1900-1999.
      start: (i) => new Date(0).setUTCFullYear(Math.floor(i / 12), ((i % 12) + 12) % 12, 1),
    };
  }
  return { index: (local) => Math.floor((local - rule.phase) / rule.ms), start: (i) => i * rule.ms + rule.phase };
}

/**
 * A stretch of a series within which the zone's offset is constant: its points are whole cells
 * of `cellMs` that start at `phase` (modulo `cellMs`, as UTC instants), or unions of them (a
 * month of days), clipped to the stretch.
 */
export interface GridPiece {
  start: number;
  end: number;
  cellMs: number;
  phase: number;
}

/** Where each point of a series starts (the first at the range's start), and its grid pieces. */
export interface SeriesShape {
  starts: number[];
  end: number;
  pieces: GridPiece[];
}

/**
 * The points of `step` in `zone` that overlap `[start, end)`, the first and last clipped to it;
 * `undefined` when there are more than `maxPoints`. A local period that starts in a gap of the
 * clock (a midnight skipped) starts when the clock jumps past its start; one whose start the
 * clock reads twice (an hour repeated) starts the first time, except for `fixed` steps.
 */
export function seriesShape({ start, end }: TimeRange, step: SeriesStep, zone: TimeZone = UTC, maxPoints = Infinity): SeriesShape | undefined {
  const [from, to] = [start.getTime(), end.getTime()];
  const rule: StepRule = SERIES_STEPS[step];
  const periods = periodsOf(rule);
  const starts = [from];
  const pieces: GridPiece[] = [];
  let last = periods.index(from + zone.offsetAt(from));
  const reach = (at: number, period: number) => {
    if (rule.kind !== 'fixed' && period <= last) return;
    starts.push(at);
    last = period;
  };
  for (const { start: spanStart, end: spanEnd, offset } of offsetSpans(zone, from, to)) {
    const cellMs = rule.kind === 'month' ? DAY_MS : rule.ms;
    pieces.push({ start: spanStart, end: spanEnd, cellMs, phase: (((rule.phase - offset) % cellMs) + cellMs) % cellMs });
    const first = periods.index(spanStart + offset);
    if (spanStart > from) reach(spanStart, first);
    for (let period = first + 1; ; period++) {
      const at = periods.start(period) - offset;
      if (at >= spanEnd) break;
      reach(at, period);
      if (starts.length > maxPoints) return undefined;
    }
    if (rule.kind !== 'fixed') last = Math.max(last, periods.index(spanEnd - 1 + offset));
  }
  return starts.length > maxPoints ? undefined : { starts, end: to, pieces };
}

/** How many points `seriesShape` gives, or `maxPoints + 1` when there are more than `maxPoints`. */
export function countSeriesPoints(range: TimeRange, step: SeriesStep, zone: TimeZone = UTC, maxPoints = Infinity): number {
  if (range.end <= range.start) return 0;
  return seriesShape(range, step, zone, maxPoints)?.starts.length ?? maxPoints + 1;
}

/** The range a shape covers. */
export function shapeRange({ starts, end }: SeriesShape): TimeRange {
  return { start: new Date(starts[0] as number), end: new Date(end) };
}

/** The points of a shape as ranges. */
export function shapePoints({ starts, end }: SeriesShape): TimeRange[] {
  return starts.map((at, i) => ({ start: new Date(at), end: new Date(starts[i + 1] ?? end) }));
}

/** The index of the point of `starts` (ascending) that holds the instant `at`. */
export function pointIndexOf(starts: readonly number[], at: number): number {
  let [low, high] = [0, starts.length - 1];
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if ((starts[middle] as number) <= at) low = middle;
    else high = middle - 1;
  }
  return low;
}

/**
 * `pointIndexOf` of `starts` for instants that come mostly in order (the hour slots of a
 * device-day document, the cells of a stretch): the point of the one before, or the next, is
 * tried before a binary search (a month's series of 10 devices looks up ~6,000 slots).
 */
export function pointFinder(starts: readonly number[]): (at: number) => number {
  let last = 0;
  const holds = (i: number, at: number) => (starts[i] as number) <= at && (i + 1 === starts.length || at < (starts[i + 1] as number));
  return (at) => {
    if (holds(last, at)) return last;
    if (last + 1 < starts.length && holds(last + 1, at)) return ++last;
    last = pointIndexOf(starts, at);
    return last;
  };
}

/**
 * The step of `step` in `zone` that holds the instant `at`: where it starts and where the next
 * begins, as `seriesShape` cuts them (a chart's first point, a live window's end).
 */
export function stepAt(at: number, step: SeriesStep, zone: TimeZone = UTC): TimeRange {
  const reach = 2 * SERIES_STEPS[step].ms + DAY_MS;
  const { starts } = seriesShape({ start: new Date(at - reach), end: new Date(at + reach) }, step, zone) as SeriesShape;
  const i = pointIndexOf(starts, at);
  return { start: new Date(starts[i] as number), end: new Date(starts[i + 1] as number) };
}

/**
 * `at` as ISO-8601 in `zone`'s local time with its offset (`Z` in UTC), e.g.
 * `2026-03-29T03:00:00.000+02:00`. An offset of seconds (local mean time, before ~1900) cannot be
 * written in ISO-8601: such an instant is written in UTC.
 */
export function formatInZone(at: number, zone: TimeZone): string {
  const offset = zone.offsetAt(at);
  if (offset === 0 || offset % MINUTE_MS !== 0) return new Date(at).toISOString();
  const minutes = Math.abs(offset) / MINUTE_MS;
  const sign = offset < 0 ? '-' : '+';
  return `${new Date(at + offset).toISOString().slice(0, -1)}${sign}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}
