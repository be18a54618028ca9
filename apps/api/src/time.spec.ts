import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareInstants, parseInstant, TIME_PATTERN, toDate } from './time';

/** A time as the API's handlers read it: the first whole millisecond at or after it. */
function parseTime(value: string): Date | undefined {
  const instant = parseInstant(value);
  return instant && toDate(instant);
}

describe('parseInstant, then toDate', () => {
  it.each([
    ['2024-01-31T12:00:00Z', '2024-01-31T12:00:00.000Z'],
    ['2024-01-31T12:00:00.123Z', '2024-01-31T12:00:00.123Z'],
    // Below the millisecond: the next whole millisecond (readings are stored to the millisecond).
    ['2024-01-31T12:00:00.123456789Z', '2024-01-31T12:00:00.124Z'],
    ['2024-01-31T12:00:00.123000000Z', '2024-01-31T12:00:00.123Z'],
    ['2024-01-31T12:00:00.0000001Z', '2024-01-31T12:00:00.001Z'],
    ['0000-01-01T00:00:00Z', '0000-01-01T00:00:00.000Z'],
    ['0000-02-29', '0000-02-29T00:00:00.000Z'],
    ['0050-06-15T12:00:00+01:00', '0050-06-15T11:00:00.000Z'],
    ['0099-12-31T23:59:59.999Z', '0099-12-31T23:59:59.999Z'],
    ['+275759-12-31T23:59:59.999Z', '+275759-12-31T23:59:59.999Z'],
    ['-271820-01-01T00:00:00Z', '-271820-01-01T00:00:00.000Z'],
    ['+002024-01-31T12:00:00Z', '2024-01-31T12:00:00.000Z'],
    ['-000001-12-31', '-000001-12-31T00:00:00.000Z'],
    ['2024-01-31T17:30:00+05:30', '2024-01-31T12:00:00.000Z'],
    ['2024-01-31T04:00:00-0800', '2024-01-31T12:00:00.000Z'],
    ['2024-01-31T12:00:00', '2024-01-31T12:00:00.000Z'],
    ['2024-01-31T12:00', '2024-01-31T12:00:00.000Z'],
    ['2024-01-31 12:00:00', '2024-01-31T12:00:00.000Z'],
    ['2024-01-31', '2024-01-31T00:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('reads %s as %s', (input, expected) => {
    expect(parseTime(input)?.toISOString()).toBe(expected);
  });

  it.each([
    '2023-02-29T00:00:00Z',
    '2024-04-31',
    '2024-13-01',
    '2024-01-31T25:00:00Z',
    '2024-01-31T12:60:00Z',
    '2024-01-31T12:00:60Z',
    '2024-01-31T12:00:00+24:00',
    '31/01/2024',
    '2024-1-31',
    'yesterday',
    '',
    '1706702400',
    '2024-01-31T12:00:00Zjunk',
    '0100-02-29',
    '+275760-01-01',
    '-271821-12-31',
    '+2024-01-31',
    '2024-01-31T12:00:00.1234567890Z',
    '2024-01-31T12:00:00Z\n',
    '２０２４-01-31',
  ])('rejects %j', (input) => {
    expect(parseTime(input)).toBeUndefined();
  });
});

describe('TIME_PATTERN (the OpenAPI pattern of the time fields)', () => {
  it('matches only times that parseInstant reads: every string it matches exists', () => {
    fc.assert(
      fc.property(fc.stringMatching(new RegExp(TIME_PATTERN)), (value) => {
        expect(parseTime(value)).toBeInstanceOf(Date);
        expect(Number.isNaN(parseTime(value)?.getTime())).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });

  it('matches every instant a date holds in the accepted years, as toISOString writes it', () => {
    const min = Date.parse('-271820-01-01T00:00:00Z');
    const max = Date.parse('+275759-12-31T23:59:59.999Z');
    fc.assert(
      fc.property(fc.integer({ min, max }), (ms) => {
        const iso = new Date(ms).toISOString();
        expect(parseTime(iso)?.getTime()).toBe(ms);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('parseInstant', () => {
  it('tells apart times that differ below a millisecond', () => {
    const a = parseInstant('2024-01-01T00:00:00.0000001Z');
    const b = parseInstant('2024-01-01T00:00:00.0000002Z');
    expect(a && b && compareInstants(a, b)).toBeLessThan(0);
    expect(a && b && compareInstants(b, a)).toBeGreaterThan(0);
  });
});
