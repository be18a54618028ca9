import { describe, expect, it } from 'vitest';
import {
  countSeriesPoints,
  formatInZone,
  offsetSpans,
  pointFinder,
  pointIndexOf,
  SERIES_STEP_NAMES,
  seriesShape,
  shapePoints,
  stepAt,
  timeZone,
  timeZoneNames,
  type SeriesStep,
  type TimeZone,
} from './series-calendar';

const zone = (name: string) => timeZone(name) as TimeZone;
const range = (start: string, end: string) => ({ start: new Date(start), end: new Date(end) });
/** The points' starts, in the zone's local time. */
const starts = (start: string, end: string, step: SeriesStep, name: string) =>
  seriesShape(range(start, end), step, zone(name))?.starts.map((at) => formatInZone(at, zone(name)).replace(/:00\.000/, ''));
const hours = (start: string, end: string, step: SeriesStep, name: string) => {
  const shape = seriesShape(range(start, end), step, zone(name));
  return shape && shapePoints(shape).map((point) => (point.end.getTime() - point.start.getTime()) / 3_600_000);
};

describe('time zones', () => {
  it('knows IANA names, current and older, by the name given, and nothing else', () => {
    expect(timeZone('Asia/Kolkata')?.name).toBe('Asia/Kolkata');
    expect(timeZone('Asia/Calcutta')?.offsetAt(0)).toBe(5.5 * 3_600_000);
    expect(timeZone('Etc/UTC')?.name).toBe('UTC');
    for (const name of ['Mars/Olympus_Mons', '+05:30', '', 'Europe/Berlin ']) expect(timeZone(name), name).toBeUndefined();
    const names = timeZoneNames();
    for (const name of ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Europe/Kyiv']) expect(names).toContain(name);
    expect(names.every((name) => timeZone(name))).toBe(true);
  });

  it('finds each change of offset to the millisecond', () => {
    const spans = [...offsetSpans(zone('Europe/Berlin'), Date.parse('2026-01-01T00:00:00Z'), Date.parse('2027-01-01T00:00:00Z'))];
    expect(spans.map(({ start, offset }) => [new Date(start).toISOString(), offset / 3_600_000])).toEqual([
      ['2026-01-01T00:00:00.000Z', 1],
      ['2026-03-29T01:00:00.000Z', 2],
      ['2026-10-25T01:00:00.000Z', 1],
    ]);
  });

  it('writes instants in local time with the offset', () => {
    expect(formatInZone(Date.parse('2026-03-29T01:00:00Z'), zone('Europe/Berlin'))).toBe('2026-03-29T03:00:00.000+02:00');
    expect(formatInZone(Date.parse('2026-03-29T01:00:00Z'), zone('America/New_York'))).toBe('2026-03-28T21:00:00.000-04:00');
    expect(formatInZone(Date.parse('2026-03-29T01:00:00Z'), zone('UTC'))).toBe('2026-03-29T01:00:00.000Z');
  });
});

describe('seriesShape', () => {
  it('cuts UTC as before: aligned steps, the first and last clipped', () => {
    expect(starts('2026-01-01T00:10:00Z', '2026-01-01T02:30:00Z', '1h', 'UTC')).toEqual(['2026-01-01T00:10Z', '2026-01-01T01:00Z', '2026-01-01T02:00Z']);
    expect(hours('2026-01-01T00:10:00Z', '2026-01-01T02:30:00Z', '1h', 'UTC')).toEqual([5 / 6, 1, 0.5]);
  });

  it('makes local days of 23 and 25 hours where clocks change, and hours of one hour each', () => {
    expect(hours('2026-03-28T00:00:00+01:00', '2026-03-31T00:00:00+02:00', '1d', 'Europe/Berlin')).toEqual([24, 23, 24]);
    expect(hours('2026-10-24T00:00:00+02:00', '2026-10-27T00:00:00+01:00', '1d', 'Europe/Berlin')).toEqual([24, 25, 24]);
    expect(hours('2026-10-25T00:00:00+02:00', '2026-10-26T00:00:00+01:00', '1h', 'Europe/Berlin')).toEqual(Array(25).fill(1));
    expect(hours('2026-03-29T00:00:00+01:00', '2026-03-30T00:00:00+02:00', '1h', 'Europe/Berlin')).toEqual(Array(23).fill(1));
    expect(hours('2026-10-25T00:00:00+02:00', '2026-10-26T00:00:00+01:00', '6h', 'Europe/Berlin')).toEqual([7, 6, 6, 6]);
  });

  it('starts days at local midnight in zones of half and three-quarter hours', () => {
    expect(starts('2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', '1d', 'Asia/Kolkata')).toEqual(['2026-01-01T05:30+05:30', '2026-01-02T00:00+05:30']);
    expect(seriesShape(range('2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'), '1d', zone('Asia/Kathmandu'))?.starts.map((at) => new Date(at).toISOString())).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T18:15:00.000Z',
    ]);
    expect(hours('2026-01-01T00:00:00+05:45', '2026-01-01T03:00:00+05:45', '1h', 'Asia/Kathmandu')).toEqual([1, 1, 1]);
  });

  it('starts weeks on Mondays and months on the first, at local midnight', () => {
    expect(starts('2026-03-01T00:00:00Z', '2026-03-20T00:00:00Z', '1w', 'America/New_York')).toEqual([
      '2026-02-28T19:00-05:00',
      '2026-03-02T00:00-05:00',
      '2026-03-09T00:00-04:00',
      '2026-03-16T00:00-04:00',
    ]);
    expect(starts('2026-01-01T00:00:00-05:00', '2027-01-01T00:00:00-05:00', '1mo', 'America/New_York')?.slice(1, 4)).toEqual([
      '2026-02-01T00:00-05:00',
      '2026-03-01T00:00-05:00',
      '2026-04-01T00:00-04:00',
    ]);
    expect(countSeriesPoints(range('2026-01-01T00:00:00-05:00', '2027-01-01T00:00:00-05:00'), '1mo', zone('America/New_York'))).toBe(12);
  });

  it('starts a day whose midnight the clock skips when it jumps, and keeps a day whose midnight it reads twice whole', () => {
    // Santiago: 2026-09-06 00:00 -04 is 01:00 -03; Havana: 2026-11-01 01:00 CDT goes back to 00:00 CST.
    expect(starts('2026-09-05T12:00:00-04:00', '2026-09-07T12:00:00-03:00', '1d', 'America/Santiago')).toEqual([
      '2026-09-05T12:00-04:00',
      '2026-09-06T01:00-03:00',
      '2026-09-07T00:00-03:00',
    ]);
    expect(hours('2026-11-01T00:00:00-04:00', '2026-11-02T00:00:00-05:00', '1d', 'America/Havana')).toEqual([25]);
  });

  it('finds the step that holds an instant: where it starts (the first bar of a chart) and where the next begins (the end of a live window)', () => {
    const at = (time: string, step: SeriesStep, name: string) => {
      const { start, end } = stepAt(Date.parse(time), step, zone(name));
      return [start.toISOString(), end.toISOString()];
    };
    expect(at('2026-03-29T10:17:23Z', '1m', 'UTC')).toEqual(['2026-03-29T10:17:00.000Z', '2026-03-29T10:18:00.000Z']);
    expect(at('2026-03-29T10:17:23Z', '1h', 'Asia/Kathmandu')).toEqual(['2026-03-29T10:15:00.000Z', '2026-03-29T11:15:00.000Z']);
    expect(at('2026-03-29T10:17:23Z', '1w', 'Europe/Berlin')).toEqual(['2026-03-22T23:00:00.000Z', '2026-03-29T22:00:00.000Z']);
    expect(at('2026-03-22T23:00:00Z', '1w', 'Europe/Berlin')[0]).toBe('2026-03-22T23:00:00.000Z');
    // The day clocks go forward has 23 hours; a month ends at the next first's local midnight.
    expect(at('2026-03-29T10:17:23Z', '1d', 'Europe/Berlin')).toEqual(['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z']);
    expect(at('2026-12-03T21:40:00Z', '1mo', 'Europe/Berlin')).toEqual(['2026-11-30T23:00:00.000Z', '2026-12-31T23:00:00.000Z']);
  });

  it('partitions any range: increasing starts from its start, within it, counted as countSeriesPoints counts', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (let i = 0; i < 300; i++) {
      const name = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'America/Santiago'][i % 7] as string;
      const step = SERIES_STEP_NAMES[Math.floor(random() * SERIES_STEP_NAMES.length)] as SeriesStep;
      const start = Date.parse('2025-01-01T00:00:00Z') + Math.floor(random() * 2 * 365 * 86_400_000);
      const r = { start: new Date(start), end: new Date(start + 1 + Math.floor(random() * 400 * 3_600_000)) };
      const shape = seriesShape(r, step, zone(name), 1500);
      const count = countSeriesPoints(r, step, zone(name), 1500);
      if (!shape) {
        expect(count).toBe(1501);
        continue;
      }
      expect(shape.starts[0]).toBe(start);
      expect(shape.starts.every((at, j) => j === 0 || (at > (shape.starts[j - 1] as number) && at < r.end.getTime())), `${name} ${step}`).toBe(true);
      expect(count).toBe(shape.starts.length);
      const probe = start + Math.floor(random() * (r.end.getTime() - start));
      const point = shapePoints(shape)[pointIndexOf(shape.starts, probe)];
      expect(point && point.start.getTime() <= probe && probe < point.end.getTime()).toBe(true);
    }
  });

  it('stops counting past the limit, however long the range', () => {
    expect(countSeriesPoints(range('2000-01-01', '2030-01-01'), '1m', zone('Europe/Berlin'), 1500)).toBe(1501);
    expect(seriesShape(range('2000-01-01', '2030-01-01'), '1m', zone('Europe/Berlin'), 1500)).toBeUndefined();
  });
});

describe('pointFinder', () => {
  it('finds the point pointIndexOf finds, whatever order the instants come in', () => {
    // A month at 1 h in Berlin, across a change of the clocks: points of 1 and 2 hours.
    const shape = seriesShape(range('2026-03-20T00:00:00Z', '2026-04-05T00:00:00Z'), '1h', zone('Europe/Berlin'));
    if (!shape) throw new Error('no shape');
    const first = shape.starts[0] as number;
    const inOrder = Array.from({ length: 3_000 }, (_, i) => first - 3_600_000 + i * 600_000);
    let seed = 7;
    const random = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
    const shuffled = inOrder.map((at) => ({ at, key: random() })).sort((a, b) => a.key - b.key).map(({ at }) => at);
    for (const instants of [inOrder, shuffled, [...inOrder].reverse()]) {
      const pointOf = pointFinder(shape.starts);
      expect(instants.map((at) => pointOf(at))).toEqual(instants.map((at) => pointIndexOf(shape.starts, at)));
    }
  });
});
