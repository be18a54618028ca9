/**
 * What the dashboard asks the API for: pure functions shared by the page (bundled for the browser)
 * and its tests. Nothing here may use Node or the DOM: from the store, only its pure
 * `rollup-plan` module (the steps and how many points a range has at each).
 */
import { countSeriesPoints, SERIES_STEPS, type SeriesStep } from '@tally/store/rollup-plan';
import type { TimeRange } from '@tally/store';

export type { TimeRange };

/** The series steps the API serves, finest first. */
export const STEPS = Object.entries(SERIES_STEPS) as [SeriesStep, number][];

export type Step = SeriesStep;

/** Range presets, each ending now. */
export const PRESETS = [
  ['15 min', 15 * 60_000],
  ['1 h', 3_600_000],
  ['24 h', 86_400_000],
  ['7 d', 7 * 86_400_000],
  ['30 d', 30 * 86_400_000],
] as const;

/** The API answers at most this many points (`MAX_SERIES_POINTS`). */
export const API_MAX_POINTS = 1500;

/** Bars a chart shows at most when a finer step would exceed it: readable on a phone, detailed on a screen. */
export const TARGET_POINTS = 400;

/**
 * The finest step that draws at most `TARGET_POINTS` bars, else the finest within the API's
 * limit; `undefined` when even a day per point is too many.
 */
export function chooseStep(range: TimeRange): { step: Step; stepMs: number } | undefined {
  const fits = (limit: number) => STEPS.find(([, ms]) => countSeriesPoints(range, ms) <= limit);
  const found = fits(TARGET_POINTS) ?? fits(API_MAX_POINTS);
  return found && { step: found[0], stepMs: found[1] };
}

/** Why a custom range cannot be shown, or `undefined` when it can. */
export function rangeProblem(range: TimeRange): string | undefined {
  if (Number.isNaN(range.start.getTime()) || Number.isNaN(range.end.getTime())) return 'Enter both a start and an end';
  if (range.end <= range.start) return 'The start must be before the end';
  if (!chooseStep(range)) return `The range is too long: at most ${API_MAX_POINTS - 1} days`;
  return undefined;
}

/** The query string of a range for `/status-counts` and `/status-counts/series`. */
export function rangeQuery({ start, end }: TimeRange, step?: Step): string {
  const query = new URLSearchParams({ start_time: start.toISOString(), end_time: end.toISOString() });
  if (step) query.set('step', step);
  return query.toString();
}
