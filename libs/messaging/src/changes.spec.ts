import { describe, expect, it } from 'vitest';
import { changesOf, decodeChanges, encodeChanges, MAX_DEVICES_PER_MINUTE } from './changes';

const at = (time: string) => new Date(`2026-12-03T${time}Z`);
const event = (time: string, device?: string) => ({ _id: 'x', status: 1, ts: at(time), receivedAt: at(time), ...(device && { device }) });

describe('announcements of a stored batch', () => {
  it('name each minute once with its devices, readings without a device changing the minute alone', () => {
    const changes = changesOf([event('10:00:01', 'a'), event('10:00:59', 'b'), event('10:00:30', 'a'), event('10:01:00'), event('09:59:59.999', 'c')]);
    expect(changes).toEqual({
      minutes: [
        { start: at('10:00:00').getTime(), devices: ['a', 'b'] },
        { start: at('10:01:00').getTime(), devices: [] },
        { start: at('09:59:00').getTime(), devices: ['c'] },
      ],
    });
    expect(decodeChanges(encodeChanges(changes))).toEqual(changes);
  });

  it('leave out the devices of a minute that has too many (any device then)', () => {
    const many = Array.from({ length: MAX_DEVICES_PER_MINUTE + 1 }, (_, i) => event('10:00:00', `d-${i}`));
    expect(changesOf(many)).toEqual({ minutes: [{ start: at('10:00:00').getTime() }] });
  });

  it('are refused when they are not one (not JSON, a minute not whole, a device id that is not one)', () => {
    for (const body of ['nope', '{}', '{"minutes":[{"start":1}]}', '{"minutes":[{"start":60000,"devices":["a b"]}]}', 'null']) {
      expect(decodeChanges(Buffer.from(body)), body).toBeUndefined();
    }
  });
});
