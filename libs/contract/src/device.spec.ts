import { describe, expect, it } from 'vitest';
import {
  deviceFromMqttTopic,
  deviceFromRoutingKey,
  deviceIdProblem,
  deviceIdSchema,
  fleetDeviceIds,
  isDeviceId,
  MAX_DEVICE_ID_LENGTH,
  mqttTopicFor,
  resolveDevice,
  routingKeyFor,
} from './device';

describe('device ids', () => {
  it.each(['pump-17', 'a', 'sim-0001', 'site:7/pump'.replace('/', '.'), 'A_b.C-d:9', 'x'.repeat(MAX_DEVICE_ID_LENGTH)])(
    'accepts %j',
    (id) => {
      expect(deviceIdProblem(id)).toBeUndefined();
      expect(deviceIdSchema.safeParse(id).success).toBe(true);
    },
  );

  it.each([
    ['', 'got an empty id'],
    ['x'.repeat(MAX_DEVICE_ID_LENGTH + 1), `got ${MAX_DEVICE_ID_LENGTH + 1} characters`],
    ['pump 17', 'got "pump 17"'],
    ['pump/17', 'got "pump/17"'],
    ['pümp', 'got "pümp"'],
    ['a#', 'got "a#"'],
    ['a+b', 'got "a+b"'],
    ['a\u0000', 'got "a\\u0000"'],
  ])('refuses %j, saying why', (id, why) => {
    expect(deviceIdProblem(id)).toBe(`expected 1 to 128 characters of A-Z a-z 0-9 . _ : -, ${why}`);
    expect(deviceIdSchema.safeParse(id).success).toBe(false);
  });

  it('refuses what is not a string', () => {
    for (const value of [17, null, ['a'], { id: 'a' }]) expect(deviceIdSchema.safeParse(value).success, String(value)).toBe(false);
  });
});

describe('deviceFromRoutingKey', () => {
  it('reads no device from the shared key status', () => {
    expect(deviceFromRoutingKey('status')).toEqual({ ok: true, device: undefined });
  });

  it('reads everything after status. as the device, dots included', () => {
    expect(deviceFromRoutingKey('status.pump-17')).toEqual({ ok: true, device: 'pump-17' });
    expect(deviceFromRoutingKey('status.pump.17')).toEqual({ ok: true, device: 'pump.17' });
    expect(deviceFromRoutingKey('status.site:3.line_2.pump-17')).toEqual({ ok: true, device: 'site:3.line_2.pump-17' });
  });

  it.each([
    ['status.', 'routing key device: expected 1 to 128 characters of A-Z a-z 0-9 . _ : -, got an empty id'],
    ['status.pump 17', 'routing key device: expected 1 to 128 characters of A-Z a-z 0-9 . _ : -, got "pump 17"'],
    [`status.${'x'.repeat(129)}`, 'routing key device: expected 1 to 128 characters of A-Z a-z 0-9 . _ : -, got 129 characters'],
    ['statuses.pump', 'routing key "statuses.pump" is not status or status.<device>'],
    ['other', 'routing key "other" is not status or status.<device>'],
  ])('refuses %j as invalid_device', (key, detail) => {
    expect(deviceFromRoutingKey(key)).toEqual({ ok: false, reason: 'invalid_device', detail });
  });
});

describe('deviceFromMqttTopic', () => {
  it('reads a topic as RabbitMQ hands it on: deeper levels become dots', () => {
    expect(deviceFromMqttTopic('status')).toEqual({ ok: true, device: undefined });
    expect(deviceFromMqttTopic('status/pump-17')).toEqual({ ok: true, device: 'pump-17' });
    expect(deviceFromMqttTopic('status/pump.17')).toEqual({ ok: true, device: 'pump.17' });
    expect(deviceFromMqttTopic('status/pump/17')).toEqual({ ok: true, device: 'pump.17' });
    expect(deviceFromMqttTopic('status/')).toMatchObject({ ok: false, reason: 'invalid_device' });
  });
});

describe('topics of a device', () => {
  it('round-trip through the parsers', () => {
    for (const device of [undefined, 'pump-17', 'pump.17', 'sim-0001']) {
      expect(deviceFromRoutingKey(routingKeyFor(device))).toEqual({ ok: true, device });
      expect(deviceFromMqttTopic(mqttTopicFor(device))).toEqual({ ok: true, device });
    }
    expect(routingKeyFor('pump-17')).toBe('status.pump-17');
    expect(mqttTopicFor('pump-17')).toBe('status/pump-17');
  });
});

describe('resolveDevice', () => {
  it('takes whichever of topic and body names a device, or none', () => {
    expect(resolveDevice(undefined, undefined)).toEqual({ ok: true, device: undefined });
    expect(resolveDevice('a', undefined)).toEqual({ ok: true, device: 'a' });
    expect(resolveDevice(undefined, 'b')).toEqual({ ok: true, device: 'b' });
  });

  it('accepts both when they agree', () => {
    expect(resolveDevice('pump.17', 'pump.17')).toEqual({ ok: true, device: 'pump.17' });
  });

  it('is a device_conflict when they disagree, naming both', () => {
    expect(resolveDevice('pump-17', 'pump-18')).toEqual({
      ok: false,
      reason: 'device_conflict',
      detail: 'the routing key names device "pump-17", the body "pump-18"',
    });
  });
});

describe('fleetDeviceIds', () => {
  it('numbers devices from sim-0001, four digits at least', () => {
    expect(fleetDeviceIds(3)).toEqual(['sim-0001', 'sim-0002', 'sim-0003']);
    expect(fleetDeviceIds(9999).at(-1)).toBe('sim-9999');
  });

  it('pads to the width of the fleet past 9,999, so ids sort in order', () => {
    const ids = fleetDeviceIds(12_000);
    expect(ids[0]).toBe('sim-00001');
    expect(ids.at(-1)).toBe('sim-12000');
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(12_000);
  });

  it('makes valid device ids', () => {
    expect(fleetDeviceIds(100).every(isDeviceId)).toBe(true);
  });
});
