import { BSON, Double, Int32, Long } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { dirtyBucketOf, forEachDaySlot } from './device-day-bson';

const DAY = Date.parse('2026-03-29T00:00:00Z');

function slotsOf(document: Record<string, unknown>) {
  const seen: { day: number; hour: number; counts: Record<string, number> }[] = [];
  forEachDaySlot(BSON.serialize(document), (day, hour, counts) => seen.push({ day, hour, counts: { ...counts } }));
  return seen;
}

const zero = { '0': 0, '1': 0, '2': 0, '3': 0, '4': 0, '5': 0, '6': 0 };

describe('forEachDaySlot', () => {
  it('reads every hour slot of a device-day document as the driver would, whatever its other fields', () => {
    const document = {
      _id: 'pump.17 2026-03-29',
      device: 'pump.17',
      day: new Date(DAY),
      h: {
        '0': { v: 3, c: { '1': 2, '6': 1 } },
        '13': { v: new Long(9), c: { '0': new Int32(5), '4': new Long(7), '5': new Double(2) } },
        '23': { c: {}, v: 1 },
      },
      f: ['late-1', 'late-2'],
      d: { v: 4, c: { '0': 5, '1': 2, '4': 7, '5': 2, '6': 1 } },
    };
    expect(slotsOf(document)).toEqual([
      { day: DAY, hour: 0, counts: { ...zero, '1': 2, '6': 1 } },
      { day: DAY, hour: 13, counts: { ...zero, '0': 5, '4': 7, '5': 2 } },
      { day: DAY, hour: 23, counts: zero },
    ]);
    // The same as read from the document built by the driver.
    const built = BSON.deserialize(BSON.serialize(document), { promoteLongs: true });
    expect(slotsOf(document).map(({ hour, counts }) => ({ hour, counts }))).toEqual(
      Object.entries(built.h as Record<string, { c: Record<string, number> }>).map(([hour, slot]) => ({
        hour: Number(hour),
        counts: { ...zero, ...Object.fromEntries(Object.entries(slot.c).map(([status, n]) => [status, Number(n)])) },
      })),
    );
  });

  it('reads a document without slots as none, whichever order its fields come in', () => {
    expect(slotsOf({ _id: 'a 2026-03-29', device: 'a', day: new Date(DAY) })).toEqual([]);
    expect(slotsOf({ h: { '5': { c: { '2': 1 } } }, device: 'a', day: new Date(DAY) })).toEqual([{ day: DAY, hour: 5, counts: { ...zero, '2': 1 } }]);
  });

  it('refuses what is no device-day document rather than counting it wrong', () => {
    expect(() => slotsOf({ device: 'a', h: {} })).toThrow(/without its day/);
    expect(() => slotsOf({ day: new Date(DAY), h: { '24': { c: {} } } })).toThrow(/no hour/);
    expect(() => slotsOf({ day: new Date(DAY), h: { x: { c: {} } } })).toThrow(/no hour/);
    expect(() => slotsOf({ day: new Date(DAY), h: { '1': { c: { '7': 1 } } } })).toThrow(/no status/);
    expect(() => slotsOf({ day: new Date(DAY), h: { '1': { c: { '01': 1 } } } })).toThrow(/no status/);
    expect(() => slotsOf({ day: new Date(DAY), h: { '1': { c: { '2': 'three' } } } })).toThrow(/element type 0x2/);
  });
});

describe('dirtyBucketOf', () => {
  it('reads the level and start of a dirty bucket, and nothing of a device-day document', () => {
    const at = new Date(DAY + 7 * 3_600_000);
    expect(dirtyBucketOf(BSON.serialize({ dirty: 'hour', at }))).toEqual({ level: 'hour', at: at.getTime() });
    expect(dirtyBucketOf(BSON.serialize({ at, dirty: 'minute' }))).toEqual({ level: 'minute', at: at.getTime() });
    const document = { _id: 'pump.17 2026-03-29', day: new Date(DAY), h: { '0': { v: 3, c: { '1': 2 } } } };
    expect(dirtyBucketOf(BSON.serialize(document))).toBeUndefined();
    expect(() => dirtyBucketOf(BSON.serialize({ dirty: 'day' }))).toThrow(/dirty day without its start/);
  });
});
