import { describe, expect, it } from 'vitest';
import { describeError } from './lifecycle';

describe('describeError', () => {
  it('gives one line with the code and the cause, no stack, and no password', () => {
    const cause = Object.assign(new Error('getaddrinfo ENOTFOUND db\n    at x'), { code: 'ENOTFOUND' });
    const error = new Error('cannot reach mongodb://tally:pa/ss-SECRET@db:27017/tally', { cause });
    expect(describeError(error)).toBe('cannot reach mongodb://tally:***@db:27017/tally (ENOTFOUND: getaddrinfo ENOTFOUND db at x)');
    expect(describeError('plain\nsecond line')).toBe('plain');
  });
});
