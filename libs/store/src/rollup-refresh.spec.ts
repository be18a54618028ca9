import { describe, expect, it } from 'vitest';
import { deviceScanStretches } from './rollup-refresh';

const HOUR = 3_600_000;

describe('deviceScanStretches', () => {
  it('reads quiet neighbouring hours together, up to the limit', () => {
    const hours = [0, 1, 2, 4, 5].map((h) => ({ start: h * HOUR, readings: 40 }));
    expect(deviceScanStretches(hours, 100)).toEqual([
      { start: 0, end: 2 * HOUR },
      { start: 2 * HOUR, end: 3 * HOUR },
      { start: 4 * HOUR, end: 6 * HOUR },
    ]);
  });

  it('cuts a busy hour into equal parts of about the limit, covering it exactly', () => {
    const stretches = deviceScanStretches([{ start: 5 * HOUR, readings: 36_000_000 }, { start: 6 * HOUR, readings: 3 }], 200_000);
    expect(stretches).toHaveLength(181);
    expect(stretches[0]?.start).toBe(5 * HOUR);
    stretches.slice(1).forEach((stretch, i) => expect(stretch.start).toBe(stretches[i]?.end));
    expect(stretches.at(-2)?.end).toBe(6 * HOUR);
    expect(stretches.at(-1)).toEqual({ start: 6 * HOUR, end: 7 * HOUR });
  });
});
