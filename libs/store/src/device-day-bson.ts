import { STATUSES } from '@tally/contract';
import { zeroCounts, type StatusCounts } from './status-counts';

/**
 * The hour slots of device-day documents read straight from their BSON (a find with `raw: true`),
 * without building them as objects: a month of 10 devices is 310 documents of up to 24 slots, and
 * the driver building their ~15,000 objects took longer than the server took to send them (17.7
 * against 7.3 ms at 10M readings from 10,000 devices; bench/README.md "Query" has the series' figures).
 * A document read here is one of device-rollups.ts `DeviceDay`:
 * `{ day: Date, h: { "<hour>": { v, c: { "<status>": n } } } }`.
 */

/** BSON element types this reader meets (https://bsonspec.org/spec.html). */
const DOUBLE = 0x01;
const DOCUMENT = 0x03;
const DATE = 0x09;
const INT32 = 0x10;
const INT64 = 0x12;
const STRING = 0x02;

/** Bytes of a value of `type` at `at` that is not read but passed over. */
function valueLength(bytes: Uint8Array, view: DataView, type: number, at: number): number {
  switch (type) {
    case DOUBLE:
    case DATE:
    case 0x11: // timestamp
    case INT64:
      return 8;
    case INT32:
      return 4;
    case STRING: // length, then the bytes with their 0
      return 4 + view.getInt32(at, true);
    case DOCUMENT:
    case 0x04: // array
      return view.getInt32(at, true);
    case 0x05: // binary: length, subtype, bytes
      return 5 + view.getInt32(at, true);
    case 0x07: // ObjectId
      return 12;
    case 0x08: // boolean
      return 1;
    case 0x0a: // null
    case 0x06: // undefined
    case 0x7f: // max key
    case 0xff: // min key
      return 0;
    case 0x13: // decimal128
      return 16;
    default:
      throw new Error(`device-day BSON: unexpected element type 0x${type.toString(16)} at byte ${at} of ${bytes.length}`);
  }
}

/** Where the name starting at `start` ends (its terminating 0). */
function nameEndOf(bytes: Uint8Array, start: number): number {
  let end = start;
  while (bytes[end] !== 0) end++;
  return end;
}

/**
 * Calls `visit` for each element of the document at `start`: its type, its name (read only when
 * asked, as most names are compared by their bytes) and where its value starts.
 */
function forEachElement(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  visit: (type: number, nameStart: number, nameEnd: number, at: number) => void,
): void {
  const end = start + view.getInt32(start, true) - 1;
  for (let at = start + 4; at < end; ) {
    const type = bytes[at] as number;
    const nameEnd = nameEndOf(bytes, at + 1);
    const value = nameEnd + 1;
    visit(type, at + 1, nameEnd, value);
    at = value + valueLength(bytes, view, type, value);
  }
}

/** The non-negative integer a name of ASCII digits spells, or -1 for any other name. */
function digitsOf(bytes: Uint8Array, start: number, end: number): number {
  if (start === end) return -1;
  let n = 0;
  for (let at = start; at < end; at++) {
    const digit = (bytes[at] as number) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n;
}

function isName(bytes: Uint8Array, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (bytes[start + i] !== name.charCodeAt(i)) return false;
  return true;
}

function numberAt(view: DataView, type: number, at: number): number {
  if (type === INT32) return view.getInt32(at, true);
  if (type === INT64) return Number(view.getBigInt64(at, true));
  if (type === DOUBLE) return view.getFloat64(at, true);
  throw new Error(`device-day BSON: a count of element type 0x${type.toString(16)}`);
}

const LETTER_C = 0x63;
const DIGIT_0 = 0x30;

/**
 * Sets `counts` to those of the hour slot `{ v, c: { "<status>": n } }` at `slot`: every status,
 * zero where `c` has none. Loops rather than `forEachElement`'s callbacks, as it runs for every slot
 * (a month of 10 devices at 10M readings: ~6,000 slots, walked in ~0.5 ms).
 */
function readSlot(bytes: Uint8Array, view: DataView, slot: number, counts: StatusCounts): void {
  for (const status of STATUSES) counts[status] = 0;
  const end = slot + view.getInt32(slot, true) - 1;
  for (let at = slot + 4; at < end; ) {
    const type = bytes[at] as number;
    const nameEnd = nameEndOf(bytes, at + 1);
    const value = nameEnd + 1;
    if (type === DOCUMENT && nameEnd === at + 2 && bytes[at + 1] === LETTER_C) {
      const countsEnd = value + view.getInt32(value, true) - 1;
      for (let count = value + 4; count < countsEnd; ) {
        const countType = bytes[count] as number;
        // A name of one digit, the status: `count + 1` is the digit, `count + 2` its 0.
        const status = STATUSES[(bytes[count + 1] as number) - DIGIT_0];
        if (status === undefined || bytes[count + 2] !== 0) throw new Error('device-day BSON: a count of no status');
        counts[status] = numberAt(view, countType, count + 3);
        count += 3 + valueLength(bytes, view, countType, count + 3);
      }
    }
    at = value + valueLength(bytes, view, type, value);
  }
}

/**
 * Calls `onSlot(day, hour, counts)` for each hour slot of the raw device-day document `bytes`,
 * `day` its UTC midnight in milliseconds. `counts` is one object, refilled for each slot: add it
 * where it belongs, do not keep it.
 */
export function forEachDaySlot(bytes: Uint8Array, onSlot: (day: number, hour: number, counts: StatusCounts) => void): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let day: number | undefined;
  let slots: number | undefined;
  forEachElement(bytes, view, 0, (type, nameStart, nameEnd, at) => {
    if (type === DATE && isName(bytes, nameStart, nameEnd, 'day')) day = Number(view.getBigInt64(at, true));
    else if (type === DOCUMENT && isName(bytes, nameStart, nameEnd, 'h')) slots = at;
  });
  if (day === undefined) throw new Error('device-day BSON: a document without its day');
  if (slots === undefined) return;
  const counts = zeroCounts();
  const end = slots + view.getInt32(slots, true) - 1;
  for (let at = slots + 4; at < end; ) {
    const type = bytes[at] as number;
    const nameEnd = nameEndOf(bytes, at + 1);
    const hour = digitsOf(bytes, at + 1, nameEnd);
    const slot = nameEnd + 1;
    if (type !== DOCUMENT || hour < 0 || hour > 23) throw new Error('device-day BSON: a slot that is no hour of a day');
    readSlot(bytes, view, slot, counts);
    onSlot(day, hour, counts);
    at = slot + view.getInt32(slot, true);
  }
}

/**
 * The dirty bucket that a document of the same cursor names, `{ dirty: "<level name>", at: <its
 * start> }` (device-counts.ts reads a series' dirty buckets and device-day documents in one
 * statement), or `undefined` for a device-day document.
 */
export function dirtyBucketOf(bytes: Uint8Array): { level: string; at: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let level: string | undefined;
  let at: number | undefined;
  forEachElement(bytes, view, 0, (type, nameStart, nameEnd, value) => {
    if (type === STRING && isName(bytes, nameStart, nameEnd, 'dirty')) {
      level = new TextDecoder().decode(bytes.subarray(value + 4, value + 3 + view.getInt32(value, true)));
    } else if (type === DATE && isName(bytes, nameStart, nameEnd, 'at')) at = Number(view.getBigInt64(value, true));
  });
  if (level === undefined) return undefined;
  if (at === undefined) throw new Error(`device-day BSON: a dirty ${level} without its start`);
  return { level, at };
}
