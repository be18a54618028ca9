import { seriesShape, timeZone, UTC, type SeriesStep, type TimeRange, type TimeZone } from '@tally/store';
import { describe, expect, it } from 'vitest';
import { TickHistory } from './history';
import { changedSpans, newPoints, windowRange } from './plan';

const at = (time: string) => Date.parse(`2026-12-03T${time}Z`);
const span = (start: string, end: string) => ({ start: new Date(at(start)), end: new Date(at(end)) });
const instants = (start: string, end: string) => ({ start: new Date(start), end: new Date(end) });
const zone = (name: string) => timeZone(name) as TimeZone;
const shapeOf = (range: TimeRange, step: SeriesStep, tz = UTC) => seriesShape(range, step, tz) as NonNullable<ReturnType<typeof seriesShape>>;
const iso = ({ start, end }: TimeRange) => [start.toISOString(), end.toISOString()];

describe('the points a change touches', () => {
  // 10:00:30 to 12:10, hourly: clipped first and last points.
  const watch = { shape: shapeOf(span('10:00:30', '12:10:00'), '1h') };

  it('reads each changed point once, consecutive ones together, clipped to the range', () => {
    const minutes = [at('10:00:00'), at('10:59:00'), at('11:30:00'), at('12:05:00'), at('12:10:00'), at('09:59:00')].map((start) => ({ start }));
    expect(changedSpans(watch, minutes)).toEqual([span('10:00:30', '12:10:00')]);
    expect(changedSpans(watch, [{ start: at('10:20:00') }, { start: at('12:00:00') }])).toEqual([span('10:00:30', '11:00:00'), span('12:00:00', '12:10:00')]);
  });

  it("reads a device's series only for minutes of its devices, or of devices too many to list", () => {
    const pumps = { ...watch, devices: ['pump-1', 'pump-2'] };
    expect(changedSpans(pumps, [{ start: at('11:00:00'), devices: ['pump-3'] }, { start: at('11:01:00'), devices: [] }])).toEqual([]);
    expect(changedSpans(pumps, [{ start: at('11:00:00'), devices: ['pump-3', 'pump-2'] }])).toEqual([span('11:00:00', '12:00:00')]);
    expect(changedSpans(pumps, [{ start: at('11:00:00') }])).toEqual([span('11:00:00', '12:00:00')]);
    // The fleet counts readings without a device too.
    expect(changedSpans(watch, [{ start: at('11:00:00'), devices: [] }])).toEqual([span('11:00:00', '12:00:00')]);
  });

  it('reads the whole range at once past maxSpans stretches', () => {
    const minuteSteps = { shape: shapeOf(span('10:00:00', '10:30:00'), '1m') };
    const everyOther = Array.from({ length: 10 }, (_, i) => ({ start: at('10:00:00') + i * 120_000 }));
    expect(changedSpans(minuteSteps, everyOther, 8)).toEqual([span('10:00:00', '10:30:00')]);
  });

  it("finds a minute's day in the zone's days: the day clocks go back has 25 hours (Europe/Berlin, 1d)", () => {
    // Local 24 to 27 October 2026: 24 hours, 25 (back from CEST to CET at 03:00), 24.
    const days = { shape: shapeOf(instants('2026-10-23T22:00:00Z', '2026-10-26T23:00:00Z'), '1d', zone('Europe/Berlin')) };
    const minute = (time: string) => [{ start: Date.parse(time) }];
    // 23:30 on the 25th, local: the long day's 25th hour.
    expect(changedSpans(days, minute('2026-10-25T22:30:00Z')).map(iso)).toEqual([['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z']]);
    expect(changedSpans(days, minute('2026-10-24T22:00:00Z')).map(iso)).toEqual([['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z']]);
    expect(changedSpans(days, minute('2026-10-25T23:00:00Z')).map(iso)).toEqual([['2026-10-25T23:00:00.000Z', '2026-10-26T23:00:00.000Z']]);
    expect(changedSpans(days, minute('2026-10-24T21:59:00Z')).map(iso)).toEqual([['2026-10-23T22:00:00.000Z', '2026-10-24T22:00:00.000Z']]);
  });

  it("finds a minute's hour in a zone 5:45 off UTC (Asia/Kathmandu, 1h): hours start at :15", () => {
    const hours = { shape: shapeOf(span('10:15:00', '14:15:00'), '1h', zone('Asia/Kathmandu')) };
    expect(changedSpans(hours, [{ start: at('11:14:00') }])).toEqual([span('10:15:00', '11:15:00')]);
    expect(changedSpans(hours, [{ start: at('11:15:00') }, { start: at('12:59:00') }])).toEqual([span('11:15:00', '13:15:00')]);
  });
});

describe('a window', () => {
  const berlin = zone('Europe/Berlin');

  it("ends where the zone's next step begins, and starts that long before, its first point clipped there", () => {
    expect(iso(windowRange(at('10:30:20'), 3_600_000, '1m', UTC))).toEqual(iso(span('09:31:00', '10:31:00')));
    expect(iso(windowRange(at('10:30:20'), 4 * 3_600_000, '1h', zone('Asia/Kathmandu')))).toEqual(iso(span('07:15:00', '11:15:00')));
    // 48 hours up to the next local midnight: the two local days hold 49 (the 25th has 25), so the first is clipped to 23 of its 24.
    const days = windowRange(Date.parse('2026-10-25T12:00:00Z'), 2 * 86_400_000, '1d', berlin);
    expect(iso(days)).toEqual(['2026-10-23T23:00:00.000Z', '2026-10-25T23:00:00.000Z']);
    expect(shapeOf(days, '1d', berlin).starts.map((start) => new Date(start).toISOString())).toEqual(['2026-10-23T23:00:00.000Z', '2026-10-24T22:00:00.000Z']);
    // Months: up to the next first, local midnight.
    expect(iso(windowRange(Date.parse('2026-12-03T21:40:00Z'), 90 * 86_400_000, '1mo', berlin))).toEqual(['2026-10-02T23:00:00.000Z', '2026-12-31T23:00:00.000Z']);
  });

  it('names the points it gained when it moved on: a new step, and a first point clipped anew', () => {
    const shapeAt = (time: string) => shapeOf(windowRange(Date.parse(time), 2 * 86_400_000, '1d', berlin), '1d', berlin);
    const before = shapeAt('2026-10-25T12:00:00Z');
    expect(newPoints(before, before)).toEqual([]);
    expect(newPoints(before, shapeAt('2026-10-25T22:59:00Z'))).toEqual([]);
    const moved = newPoints(before, shapeAt('2026-10-25T23:00:00Z')).map((start) => new Date(start).toISOString());
    expect(moved).toEqual(['2026-10-24T23:00:00.000Z', '2026-10-25T23:00:00.000Z']);
    const hourly = (time: string) => shapeOf(windowRange(at(time), 3_600_000, '1m', UTC), '1m');
    expect(newPoints(hourly('10:00:00'), hourly('10:01:00'))).toEqual([at('10:01:00')]);
  });
});

describe('the tick history', () => {
  it('tells what changed after a tick while it remembers it, and nothing after a poll or once forgotten', () => {
    const history = new TickHistory(0, 3);
    history.record(1, [{ start: 60_000 }]);
    history.record(2, [{ start: 120_000, devices: ['a'] }]);
    expect(history.since(0)).toEqual({ minutes: [{ start: 60_000 }, { start: 120_000, devices: ['a'] }], sawAt: 0 });
    expect(history.since(2)).toEqual({ minutes: [], sawAt: 2 });
    expect(history.since(3)).toBeUndefined();
    history.record(3, 'all');
    expect(history.since(1)).toBeUndefined();
    expect(history.since(3)).toEqual({ minutes: [], sawAt: 3 });
    expect(history.since(0)).toBeUndefined();
  });
});
