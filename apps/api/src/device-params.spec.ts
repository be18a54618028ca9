import { isDeviceId, MAX_DEVICE_ID_LENGTH } from '@tally/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CURSOR_JSON_PATTERN,
  decodeCursor,
  DEVICE_ID_JSON_PATTERN,
  DEVICE_PREFIX_JSON_PATTERN,
  deviceSelection,
  deviceSelectionProblem,
  devicesRequest,
  encodeCursor,
  MAX_DEVICES_PER_QUERY,
} from './device-params';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `pump-${i}`);
const messageOf = (result: { success: boolean; error?: { issues: { message: string }[] } }) => result.error?.issues.map((issue) => issue.message).join('; ');

describe('the device parameter', () => {
  it('takes one id or a list, and counts each device once', () => {
    expect(deviceSelection.parse('pump-17')).toEqual(['pump-17']);
    expect(deviceSelection.parse(['b', 'a', 'b', 'a'])).toEqual(['b', 'a']);
    expect(deviceSelection.parse(ids(MAX_DEVICES_PER_QUERY))).toHaveLength(MAX_DEVICES_PER_QUERY);
    expect(deviceSelection.parse(['x'.repeat(MAX_DEVICE_ID_LENGTH), 'a.b_c:d-E9'])).toHaveLength(2);
  });

  it.each([
    ['pump 17', /^device is not a device id: expected 1 to 128 characters of A-Z a-z 0-9 \. _ : -, got "pump 17"$/],
    ['', /^device is not a device id: .*got an empty id$/],
    ['x'.repeat(129), /^device is not a device id: .*got 129 characters$/],
    [['ok', 'pump/17'], /^device 2 of the list is not a device id: .*got "pump\/17"$/],
    [['ok', 5], /^device 2 of the list must be a device id string, not number$/],
    [[], /^device must name at least one device; leave device out to count the whole fleet$/],
    [ids(MAX_DEVICES_PER_QUERY + 1), /^device names 101 devices; at most 100 devices per request$/],
    [3, /^device must be a device id or a list of at most 100 of them, not number$/],
    [null, /not null$/],
  ])('refuses %j, saying which value breaks which rule', (value, message) => {
    const result = deviceSelection.safeParse(value);
    expect(result.success).toBe(false);
    expect(messageOf(result)).toMatch(message);
    expect(deviceSelectionProblem(value)).toMatch(message);
  });

  it('states in JSON Schema exactly the ids the contract accepts', () => {
    const pattern = new RegExp(DEVICE_ID_JSON_PATTERN);
    const prefix = new RegExp(DEVICE_PREFIX_JSON_PATTERN);
    const candidate = fc.oneof(fc.string({ maxLength: 140 }), fc.stringMatching(/^[A-Za-z0-9._:\- /#+é]{0,140}$/));
    fc.assert(
      fc.property(candidate, (id) => {
        expect(pattern.test(id)).toBe(isDeviceId(id));
        expect(deviceSelectionProblem(id) === undefined).toBe(isDeviceId(id));
        expect(prefix.test(id)).toBe(id === '' || isDeviceId(id));
      }),
      { numRuns: 500 },
    );
  });
});

describe('the device list query', () => {
  it('defaults limit to 100 and reads prefix and cursor', () => {
    expect(devicesRequest.parse({})).toEqual({ limit: 100 });
    expect(devicesRequest.parse({ prefix: 'pump-', limit: '1000', cursor: encodeCursor('pump-17') })).toEqual({
      prefix: 'pump-',
      limit: 1000,
      cursor: 'pump-17',
    });
  });

  it.each([
    [{ limit: '0' }, /^limit must be a whole number from 1 to 1000, not "0"$/],
    [{ limit: '1001' }, /^limit must be a whole number from 1 to 1000, not "1001"$/],
    [{ limit: '1.5' }, /^limit must be a whole number from 1 to 1000/],
    [{ limit: 'ten' }, /^limit must be a whole number from 1 to 1000, not "ten"$/],
    [{ prefix: 'pump 1' }, /^prefix must be the start of a device id: at most 128 characters of A-Z a-z 0-9 \. _ : -, not "pump 1"$/],
    [{ prefix: 'p'.repeat(129) }, /^prefix must be the start of a device id/],
    [{ cursor: 'not a cursor' }, /^cursor is not one this API gave out: pass the next_cursor of the previous page/],
  ])('refuses %j with a message that names the rule', (query, message) => {
    expect(messageOf(devicesRequest.safeParse(query))).toMatch(message);
  });
});

describe('the cursor', () => {
  it('gives back the device it was made from, for any device id', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/), (device) => {
        expect(encodeCursor(device)).toMatch(new RegExp(CURSOR_JSON_PATTERN));
        expect(decodeCursor(encodeCursor(device))).toBe(device);
      }),
    );
  });

  it('refuses what it did not make, exactly what its pattern refuses', () => {
    for (const cursor of ['', '7', '70756d7', '70756D70', encodeCursor('pump 17'), encodeCursor('pump/17'), encodeCursor('x'.repeat(129)), '!!']) {
      expect(decodeCursor(cursor), cursor).toBeUndefined();
    }
    const pattern = new RegExp(CURSOR_JSON_PATTERN);
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-fA-F]{0,20}$/), (cursor) => {
        expect(pattern.test(cursor)).toBe(decodeCursor(cursor) !== undefined);
        if (pattern.test(cursor)) expect(encodeCursor(decodeCursor(cursor) as string)).toBe(cursor);
      }),
      { numRuns: 500 },
    );
  });
});
