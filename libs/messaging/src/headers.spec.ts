import { describe, expect, it } from 'vitest';
import { fieldTableBytes, fitHeaders } from './headers';

describe('fieldTableBytes', () => {
  it('counts what rabbitmq-client refuses to put in a frame: a 20 KB header is over 8 KiB', () => {
    expect(fieldTableBytes({})).toBe(4);
    expect(fieldTableBytes({ a: 'xy' })).toBe(4 + 2 + 1 + 4 + 2);
    expect(fieldTableBytes({ big: 'h'.repeat(20_000) })).toBeGreaterThan(20_000);
  });

  it('bounds nested tables, arrays and byte buffers from above', () => {
    const nested = { t: { n: 1, s: 'é' }, a: [1, 'x', null], b: Buffer.alloc(10) };
    expect(fieldTableBytes(nested)).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(nested)) / 2);
  });
});

describe('fitHeaders', () => {
  const own = { 'x-tally-reason': 'invalid_json: Unexpected token' };

  it('keeps every header when they fit', () => {
    expect(fitHeaders({ a: '1', b: 2 }, own, 1000)).toEqual({ headers: { a: '1', b: 2, ...own }, dropped: [] });
  });

  it('drops the largest first, and only as many as needed', () => {
    const original = { big: 'h'.repeat(20_000), medium: 'm'.repeat(500), small: 's' };
    const { headers, dropped } = fitHeaders(original, own, 1000);
    expect(headers).toEqual({ medium: original.medium, small: 's', ...own });
    expect(dropped).toEqual([{ name: 'big', bytes: 1 + 3 + 1 + 4 + 20_000 }]);
    expect(fieldTableBytes(headers)).toBeLessThanOrEqual(1000);
  });

  it('drops all of the original when only its own headers fit, and its own win over same-named ones', () => {
    const { headers, dropped } = fitHeaders({ 'x-tally-reason': 'forged', a: 'a'.repeat(100) }, own, 60);
    expect(headers).toEqual(own);
    expect(dropped.map((d) => d.name)).toEqual(['a']);
  });

  it('never exceeds the budget, whatever the sizes', () => {
    for (let round = 0; round < 200; round++) {
      const original: Record<string, unknown> = {};
      for (let i = 0; i < 10; i++) original[`h${i}`] = 'v'.repeat(((round + 1) * (i + 3) * 7919) % 5000);
      const budget = 200 + ((round * 104_729) % 20_000);
      expect(fieldTableBytes(fitHeaders(original, own, budget).headers)).toBeLessThanOrEqual(budget);
    }
  });
});
