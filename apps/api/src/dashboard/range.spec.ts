import { countSeriesPoints, SERIES_STEP_NAMES, timeZone, UTC, type TimeZone } from '@tally/store';
import { describe, expect, it } from 'vitest';
import { MAX_SERIES_POINTS } from '../schemas';
import { API_MAX_POINTS, chooseStep, PRESETS, presetRange, rangeProblem, rangeQuery, STEPS, windowQuery } from './range';

const ending = (end: string, ms: number) => ({ start: new Date(Date.parse(end) - ms), end: new Date(end) });
const zone = (name: string) => timeZone(name) as TimeZone;

describe('the dashboard ranges', () => {
  it('knows the steps and the point limit the API serves', () => {
    expect(STEPS).toEqual(SERIES_STEP_NAMES);
    expect(API_MAX_POINTS).toBe(MAX_SERIES_POINTS);
  });

  it('picks a step per preset that stays readable and within the limit, at any time of day, in any zone', () => {
    const now = new Date('2026-03-31T10:17:23.456Z');
    expect(PRESETS.map((preset) => chooseStep(presetRange(preset, now, UTC), UTC))).toEqual(['1m', '1m', '5m', '1h', '6h', '5m', '6h']);
    for (const name of ['UTC', 'Europe/Berlin', 'Asia/Kathmandu']) {
      for (const preset of PRESETS) {
        for (let end = Date.parse('2026-03-29T00:00:00Z'); end < Date.parse('2026-03-30T00:00:00Z'); end += 37 * 60_000 + 13) {
          const range = presetRange(preset, new Date(end), zone(name));
          const step = chooseStep(range, zone(name));
          expect(step, `${preset.label} in ${name}`).toBeDefined();
          expect(countSeriesPoints(range, step ?? '1mo', zone(name), 1500)).toBeLessThanOrEqual(400);
        }
      }
    }
  });

  it('starts "Today" at local midnight and "This month" on the first, in the zone', () => {
    const [today, month] = PRESETS.slice(-2) as [(typeof PRESETS)[number], (typeof PRESETS)[number]];
    const now = new Date('2026-03-29T20:00:00Z');
    expect(presetRange(today, now, zone('Europe/Berlin')).start.toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(presetRange(today, now, zone('Asia/Kathmandu')).start.toISOString()).toBe('2026-03-29T18:15:00.000Z');
    expect(presetRange(month, now, zone('America/New_York')).start.toISOString()).toBe('2026-03-01T05:00:00.000Z');
    expect(presetRange(month, now, zone('Asia/Kolkata')).start.toISOString()).toBe('2026-02-28T18:30:00.000Z');
  });

  it('falls back to a coarser step up to the API limit, and refuses longer ranges with a reason', () => {
    expect(chooseStep(ending('2030-01-01T00:00:00Z', 1000 * 86_400_000), UTC)).toBe('1w');
    expect(chooseStep(ending('2030-01-01T00:00:00Z', 2000 * 86_400_000), UTC)).toBe('1w');
    expect(chooseStep(ending('2030-01-01T00:00:00Z', 200 * 365 * 86_400_000), UTC)).toBeUndefined();
    expect(rangeProblem(ending('2030-01-01T00:00:00Z', 200 * 365 * 86_400_000), UTC)).toMatch(/too long/);
    expect(rangeProblem({ start: new Date('2026-01-02'), end: new Date('2026-01-01') }, UTC)).toMatch(/before the end/);
    expect(rangeProblem({ start: new Date(''), end: new Date('2026-01-01') }, UTC)).toMatch(/Enter both/);
    expect(rangeProblem(ending('2030-01-01T00:00:00Z', 3_600_000), UTC)).toBeUndefined();
  });

  it('writes the query in UTC, with the step and zone for a series and for a live window', () => {
    const range = { start: new Date('2026-03-01T00:00:00+01:00'), end: new Date('2026-03-01T01:00:00Z') };
    expect(rangeQuery(range, { step: '1m', zone: zone('Europe/Berlin') })).toBe(
      'start_time=2026-02-28T23%3A00%3A00.000Z&end_time=2026-03-01T01%3A00%3A00.000Z&step=1m&tz=Europe%2FBerlin',
    );
    expect(rangeQuery(range)).toBe('start_time=2026-02-28T23%3A00%3A00.000Z&end_time=2026-03-01T01%3A00%3A00.000Z');
    expect(windowQuery(7 * 86_400_000, '1h', zone('Asia/Kathmandu'))).toBe('window=10080m&step=1h&tz=Asia%2FKathmandu');
  });
});
