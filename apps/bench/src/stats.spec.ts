import { describe, expect, it } from 'vitest';
import { percentile, percentiles, perSecond } from './stats';

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 95)).toBe(10);
    expect(percentile(values, 10)).toBe(1);
    expect(percentile(values, 0)).toBe(1);
  });

  it('gives the largest value as p95 and p99 of a few samples', () => {
    expect(percentiles([30, 10, 20])).toEqual({ p50: 20, p95: 30, p99: 30 });
  });

  it('refuses no values', () => {
    expect(() => percentile([], 50)).toThrow('percentile of no values');
  });
});

describe('perSecond', () => {
  it('rounds, and is 0 over no time', () => {
    expect(perSecond(1000, 0.3)).toBe(3333);
    expect(perSecond(1000, 0)).toBe(0);
  });
});
