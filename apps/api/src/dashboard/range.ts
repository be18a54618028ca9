/**
 * What the dashboard asks the API for: pure functions shared by the page (bundled for the browser)
 * and its tests. Nothing here may use Node or the DOM: from the store, only its pure
 * `series-calendar` module (the steps, and the points a range has at each in a time zone).
 */
import { countSeriesPoints, SERIES_STEP_NAMES, stepAt, type SeriesStep, type TimeZone } from '@tally/store/series-calendar';
import type { TimeRange } from '@tally/store';

export type { TimeRange };

/** The series steps the API serves, finest first. */
export const STEPS = SERIES_STEP_NAMES;

export type Step = SeriesStep;

/** A range ending now: of a length, or since the local day or month began. */
export type Preset = { label: string; ms: number } | { label: string; since: '1d' | '1mo' };

/** Range presets, each ending now. */
export const PRESETS: readonly Preset[] = [
  { label: '15 min', ms: 15 * 60_000 },
  { label: '1 h', ms: 3_600_000 },
  { label: '24 h', ms: 86_400_000 },
  { label: '7 d', ms: 7 * 86_400_000 },
  { label: '30 d', ms: 30 * 86_400_000 },
  { label: 'Today', since: '1d' },
  { label: 'This month', since: '1mo' },
];

/** The range of `preset` at `now` in `zone`: "Today" from the local midnight, "This month" from the first. */
export function presetRange(preset: Preset, now: Date, zone: TimeZone): TimeRange {
  if ('ms' in preset) return { start: new Date(now.getTime() - preset.ms), end: now };
  return { start: stepAt(now.getTime(), preset.since, zone).start, end: now };
}

/** The API answers at most this many points (`MAX_SERIES_POINTS`). */
export const API_MAX_POINTS = 1500;

/** Bars a chart shows at most when a finer step would exceed it: readable on a phone, detailed on a screen. */
export const TARGET_POINTS = 400;

/**
 * The finest step that draws at most `TARGET_POINTS` bars in `zone`, else the finest within the
 * API's limit; `undefined` when even a month per point is too many.
 */
export function chooseStep(range: TimeRange, zone: TimeZone): Step | undefined {
  const fits = (limit: number) => STEPS.find((step) => countSeriesPoints(range, step, zone, limit) <= limit);
  return fits(TARGET_POINTS) ?? fits(API_MAX_POINTS);
}

/** Why a custom range cannot be shown, or `undefined` when it can. */
export function rangeProblem(range: TimeRange, zone: TimeZone): string | undefined {
  if (Number.isNaN(range.start.getTime()) || Number.isNaN(range.end.getTime())) return 'Enter both a start and an end';
  if (range.end <= range.start) return 'The start must be before the end';
  if (!chooseStep(range, zone)) return `The range is too long: at most ${API_MAX_POINTS} months`;
  return undefined;
}

/** The query string of a range for `/status-counts`, and with a step and zone for `/status-counts/series`. */
export function rangeQuery({ start, end }: TimeRange, series?: { step: Step; zone: TimeZone }): string {
  const query = new URLSearchParams({ start_time: start.toISOString(), end_time: end.toISOString() });
  if (series) {
    query.set('step', series.step);
    query.set('tz', series.zone.name);
  }
  return query.toString();
}

/** The query string of the live stream of the last `ms` (whole minutes) at `step` in `zone`. */
export function windowQuery(ms: number, step: Step, zone: TimeZone): string {
  return new URLSearchParams({ window: `${Math.round(ms / 60_000)}m`, step, tz: zone.name }).toString();
}
