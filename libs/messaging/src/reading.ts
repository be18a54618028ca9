import { randomInt } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { MAX_MESSAGE_BYTES, readingSchema, STATUSES, type Reading, type Status } from '@tally/contract';

export type DecodeFailureReason = 'invalid_json' | 'invalid_schema' | 'invalid_device' | 'too_large';

export type DecodeResult =
  | { ok: true; reading: Reading }
  | { ok: false; reason: DecodeFailureReason; detail: string };

/**
 * Reads a message body against `readingSchema`. Never throws: a bad body yields the reason and a
 * detail a person can act on (`invalid_device` when the first problem is the `device` field).
 */
export function decode(body: Uint8Array | string): DecodeResult {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (size > MAX_MESSAGE_BYTES) {
    return { ok: false, reason: 'too_large', detail: `body is ${size} bytes, over the limit of ${MAX_MESSAGE_BYTES}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
  } catch (error) {
    return { ok: false, reason: 'invalid_json', detail: (error as Error).message };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, reason: 'invalid_schema', detail: `expected a JSON object, got ${describe(json)}` };
  }
  const result = readingSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join('.') || 'body';
    const reason = issue?.path[0] === 'device' ? 'invalid_device' : 'invalid_schema';
    return { ok: false, reason, detail: `${field}: ${issue?.message}` };
  }
  const { id, status, ts, device } = result.data;
  return {
    ok: true,
    reading: { status, ...(id !== undefined && { id }), ...(ts !== undefined && { ts }), ...(device !== undefined && { device }) },
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** The JSON body of a reading, UTF-8. */
export function encode(reading: Reading): Buffer {
  return Buffer.from(
    JSON.stringify({
      ...(reading.id !== undefined && { id: reading.id }),
      status: reading.status,
      ...(reading.ts !== undefined && { ts: reading.ts.toISOString() }),
      ...(reading.device !== undefined && { device: reading.device }),
    }),
  );
}

/** A reading with an id and a ts, as the broadcaster sends them. */
export type RandomReading = Reading & { id: string; ts: Date };

/**
 * A new reading with a uniformly random status, a time-ordered id (UUIDv7) and the given time,
 * from `device` when one is given.
 */
export function randomReading(ts: Date = new Date(), device?: string): RandomReading {
  return { id: uuidv7({ msecs: ts.getTime() }), status: STATUSES[randomInt(0, STATUSES.length)] as Status, ts, ...(device !== undefined && { device }) };
}
