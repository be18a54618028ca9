import { describe, expect, it } from 'vitest';
import { TickHistory } from './history';
import { changedSpans, newSpans } from './plan';

const at = (time: string) => Date.parse(`2026-12-03T${time}Z`);
const span = (start: string, end: string) => ({ start: new Date(at(start)), end: new Date(at(end)) });

describe('the points a change touches', () => {
  // 10:00:30 to 12:10, hourly: clipped first and last points.
  const watch = { range: span('10:00:30', '12:10:00'), stepMs: 3_600_000 };

  it('reads each changed step once, consecutive ones together, clipped to the range', () => {
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
    const minuteSteps = { range: span('10:00:00', '10:30:00'), stepMs: 60_000 };
    const everyOther = Array.from({ length: 10 }, (_, i) => ({ start: at('10:00:00') + i * 120_000 }));
    expect(changedSpans(minuteSteps, everyOther, 8)).toEqual([minuteSteps.range]);
  });

  it('names the steps a moving window gained', () => {
    expect(newSpans(span('10:00:00', '11:00:00'), span('10:00:00', '11:00:00'))).toEqual([]);
    expect(newSpans(span('10:00:00', '11:00:00'), span('10:01:00', '11:01:00'))).toEqual([span('11:00:00', '11:01:00')]);
    expect(newSpans(span('10:00:00', '11:00:00'), span('12:00:00', '13:00:00'))).toEqual([span('12:00:00', '13:00:00')]);
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
