import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, STATUSES } from '@tally/contract';
import { decode, encode, randomReading } from './reading';

const ID = '0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b';

describe('decode', () => {
  it('accepts the minimal {"status": 3} any MQTT client may send', () => {
    expect(decode(Buffer.from('{"status": 3}'))).toEqual({ ok: true, reading: { status: 3 } });
  });

  it('reads a ts in an expanded year, as the API prints and accepts them', () => {
    for (const ts of ['+020000-02-29T12:00:00.5+05:30', '-000001-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z']) {
      const result = decode(`{"status":1,"ts":"${ts}"}`);
      expect(result, ts).toEqual({ ok: true, reading: { status: 1, ts: new Date(ts) } });
      expect(Number.isFinite((result as { reading: { ts: Date } }).reading.ts.getTime())).toBe(true);
    }
    const printed = new Date(Date.UTC(-5, 0, 1)).toISOString();
    expect(decode(`{"status":1,"ts":"${printed}"}`)).toMatchObject({ ok: true });
  });

  it('stores an upper-case UUID as the same id as its lower-case form', () => {
    const result = decode(`{"id":"${ID.toUpperCase()}","status":2}`);
    expect(result).toEqual({ ok: true, reading: { id: ID.toLowerCase(), status: 2 } });
  });

  it('reads id and ts, and ignores unknown fields', () => {
    const result = decode(`{"id":"${ID}","status":0,"ts":"2026-01-02T03:04:05.678+05:30","extra":[1]}`);
    expect(result).toEqual({
      ok: true,
      reading: { id: ID, status: 0, ts: new Date('2026-01-01T21:34:05.678Z') },
    });
  });

  it.each([
    ['status above 6', '{"status":7}', 'status: expected an integer from 0 to 6'],
    ['a negative status', '{"status":-1}', 'status: expected an integer from 0 to 6'],
    ['a fractional status', '{"status":3.5}', 'status: expected an integer from 0 to 6'],
    ['a string status', '{"status":"3"}', 'status: expected an integer from 0 to 6'],
    ['a null status', '{"status":null}', 'status: expected an integer from 0 to 6'],
    ['no status', '{}', 'status: expected an integer from 0 to 6'],
    ['null', 'null', 'expected a JSON object, got null'],
    ['an array', '[{"status":3}]', 'expected a JSON object, got an array'],
    ['a number', '3', 'expected a JSON object, got a number'],
    ['a ts without offset', '{"status":3,"ts":"2026-01-02T03:04:05"}', 'ts: expected an ISO-8601 instant with Z or an offset'],
    ['a ts that is not a date', '{"status":3,"ts":"yesterday"}', 'ts: expected an ISO-8601 instant with Z or an offset'],
    ['a ts on a day that does not exist', '{"status":3,"ts":"2023-02-29T00:00:00Z"}', 'ts: expected an ISO-8601 instant with Z or an offset'],
    ['a ts at an hour that does not exist', '{"status":3,"ts":"2023-01-01T25:00:00Z"}', 'ts: expected an ISO-8601 instant with Z or an offset'],
    ['a numeric ts', '{"status":3,"ts":1700000000}', 'ts: expected an ISO-8601 instant with Z or an offset'],
    ['an id that is not a UUID', '{"status":3,"id":"abc"}', 'id: expected a UUID'],
    ['a ts in an expanded year on a day that does not exist', '{"status":3,"ts":"+020001-02-29T00:00:00Z"}', 'ts: expected an ISO-8601 instant with Z or an offset'],
    ['a ts in year -000000', '{"status":3,"ts":"-000000-01-01T00:00:00Z"}', 'ts: expected an ISO-8601 instant with Z or an offset'],
    ['a ts past the last instant a date holds', '{"status":3,"ts":"+275760-09-13T00:00:00.001Z"}', 'ts: expected an ISO-8601 instant with Z or an offset'],
  ])('rejects %s as invalid_schema naming the field', (_, body, detail) => {
    expect(decode(body)).toEqual({ ok: false, reason: 'invalid_schema', detail });
  });

  it('reads the status -0 (valid JSON) as 0', () => {
    const result = decode('{"status":-0}');
    expect(result.ok && Object.is(result.reading.status, 0)).toBe(true);
  });

  it('reads a device field, and refuses a bad one as invalid_device', () => {
    expect(decode('{"status":1,"device":"pump.17"}')).toEqual({ ok: true, reading: { status: 1, device: 'pump.17' } });
    expect(decode('{"status":1,"device":"pump 17"}')).toEqual({
      ok: false,
      reason: 'invalid_device',
      detail: 'device: expected 1 to 128 characters of A-Z a-z 0-9 . _ : -, got "pump 17"',
    });
    expect(decode('{"status":1,"device":17}')).toMatchObject({ ok: false, reason: 'invalid_device' });
    // The first problem names the reason.
    expect(decode('{"status":9,"device":"pump 17"}')).toMatchObject({ ok: false, reason: 'invalid_schema' });
  });

  it.each([['not JSON'], ['{"status":'], [''], ['\u0000']])('rejects %j as invalid_json', (body) => {
    expect(decode(body)).toMatchObject({ ok: false, reason: 'invalid_json' });
  });

  it('rejects a body over 4 KiB as too_large without parsing it', () => {
    const body = Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20);
    expect(decode(body)).toEqual({
      ok: false,
      reason: 'too_large',
      detail: `body is ${MAX_MESSAGE_BYTES + 1} bytes, over the limit of ${MAX_MESSAGE_BYTES}`,
    });
    const padded = `{"status":1,"pad":"${' '.repeat(MAX_MESSAGE_BYTES - 30)}"}`;
    expect(decode(padded)).toMatchObject({ ok: true });
  });
});

describe('encode', () => {
  it('round-trips through decode', () => {
    const reading = { id: ID, status: 5 as const, ts: new Date('2026-03-04T05:06:07.089Z') };
    expect(JSON.parse(encode(reading).toString())).toEqual({ id: ID, status: 5, ts: '2026-03-04T05:06:07.089Z' });
    expect(decode(encode(reading))).toEqual({ ok: true, reading });
    const fromDevice = { ...reading, device: 'pump.17' };
    expect(decode(encode(fromDevice))).toEqual({ ok: true, reading: fromDevice });
  });
});

describe('randomReading', () => {
  it('makes time-ordered UUIDv7 ids that decode', () => {
    const a = randomReading(new Date(1_700_000_000_000));
    const b = randomReading(new Date(1_700_000_000_001));
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.id < b.id).toBe(true);
    expect(decode(encode(a))).toEqual({ ok: true, reading: a });
  });

  it('draws every status, roughly uniformly', () => {
    const counts = new Map<number, number>();
    for (let i = 0; i < 7000; i++) {
      const { status } = randomReading();
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([...STATUSES]);
    for (const count of counts.values()) expect(count).toBeGreaterThan(800);
  });
});
