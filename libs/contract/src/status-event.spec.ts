import { describe, expect, it } from 'vitest';
import { readingSchema } from './reading';
import { readingId, toStatusEvent } from './status-event';

const ID = '0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b';
const TS = new Date('2026-01-01T00:00:00Z');
const RECEIVED = new Date('2026-01-01T00:00:01Z');

describe('toStatusEvent', () => {
  it('maps a minimal reading on the shared topic: no device, ts from receipt', () => {
    const result = toStatusEvent({ status: 3 }, { routingKey: 'status', receivedAt: RECEIVED });
    expect(result).toMatchObject({ ok: true, event: { status: 3, ts: RECEIVED, receivedAt: RECEIVED } });
    expect(result.ok && 'device' in result.event).toBe(false);
  });

  it('takes the device from the routing key, dots included', () => {
    const result = toStatusEvent({ id: ID, status: 1, ts: TS }, { routingKey: 'status.pump.17', receivedAt: RECEIVED });
    expect(result).toEqual({ ok: true, event: { _id: ID, status: 1, ts: TS, receivedAt: RECEIVED, device: 'pump.17' } });
  });

  it('takes the device from the body on the shared topic, and accepts both when they agree', () => {
    const fromBody = toStatusEvent({ status: 1, ts: TS, device: 'pump-17' }, { routingKey: 'status', receivedAt: RECEIVED });
    const both = toStatusEvent({ status: 1, ts: TS, device: 'pump-17' }, { routingKey: 'status.pump-17', receivedAt: RECEIVED });
    expect(fromBody).toMatchObject({ ok: true, event: { device: 'pump-17' } });
    expect(both).toEqual(fromBody);
  });

  it('refuses a conflict between routing key and body as device_conflict', () => {
    const result = toStatusEvent({ status: 1, device: 'pump-18' }, { routingKey: 'status.pump-17', receivedAt: RECEIVED });
    expect(result).toEqual({ ok: false, reason: 'device_conflict', detail: 'the routing key names device "pump-17", the body "pump-18"' });
  });

  it('refuses a routing key that names no valid device as invalid_device', () => {
    const result = toStatusEvent({ status: 1 }, { routingKey: 'status.pump 17', receivedAt: RECEIVED });
    expect(result).toMatchObject({ ok: false, reason: 'invalid_device' });
  });

  it('stores three devices’ equal readings on the shared topic, without ids, as three', () => {
    const ids = ['a', 'b', 'c'].map((device) => {
      const result = toStatusEvent({ status: 4, ts: TS, device }, { routingKey: 'status', receivedAt: RECEIVED });
      if (!result.ok) throw new Error(result.detail);
      return result.event._id;
    });
    expect(new Set(ids).size).toBe(3);
  });

  it('maps what the schema decodes', () => {
    const reading = readingSchema.parse({ status: 2, ts: '2026-01-01T00:00:00Z', device: 'x' });
    expect(toStatusEvent(reading, { routingKey: 'status.x', receivedAt: RECEIVED })).toMatchObject({ ok: true, event: { device: 'x', ts: TS } });
  });
});

describe('readingId', () => {
  it('is the reading’s own id when it has one', () => {
    expect(readingId({ id: ID, status: 1 }, undefined)).toBe(ID);
    expect(readingId({ id: ID, status: 1 }, 'pump-17')).toBe(ID);
  });

  it('is derived from device and content when the reading has a ts, so a redelivery gets the same id', () => {
    const id = readingId({ status: 2, ts: TS }, 'device-7');
    expect(readingId({ status: 2, ts: new Date(TS) }, 'device-7')).toBe(id);
    expect(readingId({ status: 3, ts: TS }, 'device-7')).not.toBe(id);
    expect(readingId({ status: 2, ts: TS }, 'device-8')).not.toBe(id);
    expect(readingId({ status: 2, ts: TS }, undefined)).not.toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5/);
  });

  it('derives the ids stored before devices existed (routing key status, or status.<device>)', () => {
    // Computed by the readingId of messaging before #25, from ('status' | 'status.pump.17', {"status":2,"ts":…}).
    expect(readingId({ status: 2, ts: TS }, undefined)).toBe('5bb75caa-c8a7-5419-ae78-1ec5443ab3a4');
    expect(readingId({ status: 2, ts: TS }, 'pump.17')).toBe('8b963bc3-8c96-5e9a-9788-75a4f21a324f');
  });

  it('is new each time for a reading with neither id nor ts', () => {
    expect(readingId({ status: 2 }, 'a')).not.toBe(readingId({ status: 2 }, 'a'));
  });
});
