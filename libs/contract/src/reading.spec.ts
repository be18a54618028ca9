import { describe, expect, it } from 'vitest';
import { readingSchema } from './reading';

const ID = '0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b';

describe('readingSchema', () => {
  it('reads every field, lower-cases the id and makes ts a Date', () => {
    expect(readingSchema.parse({ id: ID.toUpperCase(), status: 6, ts: '2026-01-02T03:04:05.678+05:30', device: 'pump.17' })).toEqual({
      id: ID,
      status: 6,
      ts: new Date('2026-01-01T21:34:05.678Z'),
      device: 'pump.17',
    });
  });

  it('needs only status', () => {
    expect(readingSchema.parse({ status: 0 })).toEqual({ status: 0 });
  });

  it('reads expanded years and refuses days that do not exist in them', () => {
    expect(readingSchema.parse({ status: 1, ts: '+020000-02-29T12:00:00Z' }).ts).toEqual(new Date('+020000-02-29T12:00:00Z'));
    expect(readingSchema.safeParse({ status: 1, ts: '+020001-02-29T00:00:00Z' }).success).toBe(false);
  });

  it.each([['pump 17'], [''], [17], ['x'.repeat(129)]])('refuses the device %j on the device field', (device) => {
    const result = readingSchema.safeParse({ status: 1, device });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['device']);
  });
});
