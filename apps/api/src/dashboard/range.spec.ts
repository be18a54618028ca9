import { countSeriesPoints, SERIES_STEPS } from '@tally/store';
import { describe, expect, it } from 'vitest';
import { MAX_SERIES_POINTS } from '../schemas';
import { API_MAX_POINTS, chooseStep, PRESETS, rangeProblem, rangeQuery, STEPS } from './range';

const ending = (end: string, ms: number) => ({ start: new Date(Date.parse(end) - ms), end: new Date(end) });

describe('the dashboard ranges', () => {
  it('knows the steps and the point limit the API serves', () => {
    expect(Object.fromEntries(STEPS)).toEqual(SERIES_STEPS);
    expect(API_MAX_POINTS).toBe(MAX_SERIES_POINTS);
  });

  it('picks a step per preset that stays readable and within the limit, at any time of day', () => {
    const steps = PRESETS.map(([, ms]) => chooseStep(ending('2026-03-01T10:17:23.456Z', ms))?.step);
    expect(steps).toEqual(['1m', '1m', '5m', '1h', '6h']);
    for (const [, ms] of PRESETS) {
      for (let end = Date.parse('2026-03-01T00:00:00Z'); end < Date.parse('2026-03-02T00:00:00Z'); end += 7 * 60_000 + 13) {
        const range = { start: new Date(end - ms), end: new Date(end) };
        const chosen = chooseStep(range);
        expect(chosen).toBeDefined();
        expect(countSeriesPoints(range, chosen?.stepMs ?? 0)).toBeLessThanOrEqual(400);
      }
    }
  });

  it('counts points as the API does: UTC-aligned buckets that overlap the range', () => {
    expect(countSeriesPoints({ start: new Date('2026-03-01T00:00:30Z'), end: new Date('2026-03-01T00:02:00Z') }, 60_000)).toBe(2);
    expect(countSeriesPoints({ start: new Date('2026-03-01T00:00:30Z'), end: new Date('2026-03-01T00:02:01Z') }, 60_000)).toBe(3);
  });

  it('falls back to a coarser step up to the API limit, and refuses longer ranges with a reason', () => {
    expect(chooseStep(ending('2030-01-01T00:00:00Z', 1000 * 86_400_000))?.step).toBe('1d');
    expect(chooseStep(ending('2030-01-01T00:00:00Z', 2000 * 86_400_000))).toBeUndefined();
    expect(rangeProblem(ending('2030-01-01T00:00:00Z', 2000 * 86_400_000))).toMatch(/too long/);
    expect(rangeProblem({ start: new Date('2026-01-02'), end: new Date('2026-01-01') })).toMatch(/before the end/);
    expect(rangeProblem({ start: new Date(''), end: new Date('2026-01-01') })).toMatch(/Enter both/);
    expect(rangeProblem(ending('2030-01-01T00:00:00Z', 3_600_000))).toBeUndefined();
  });

  it('writes the query in UTC', () => {
    const query = rangeQuery({ start: new Date('2026-03-01T00:00:00+01:00'), end: new Date('2026-03-01T01:00:00Z') }, '1m');
    expect(query).toBe('start_time=2026-02-28T23%3A00%3A00.000Z&end_time=2026-03-01T01%3A00%3A00.000Z&step=1m');
  });
});
