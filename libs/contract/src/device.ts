import { z } from 'zod';

/** Longest device id, in characters (all ASCII). */
export const MAX_DEVICE_ID_LENGTH = 128;

/** The characters of a device id: those an MQTT topic level and an AMQP routing-key word carry unchanged. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9._:-]+$/;

/** The first level of every reading's topic: MQTT `status`, `status/<device>`; AMQP `status`, `status.<device>`. */
export const STATUS_TOPIC = 'status';

const DEVICE_ID_RULE = `1 to ${MAX_DEVICE_ID_LENGTH} characters of A-Z a-z 0-9 . _ : -`;

/** Why `id` is not a device id, or `undefined` when it is one. */
export function deviceIdProblem(id: string): string | undefined {
  if (id.length === 0) return `expected ${DEVICE_ID_RULE}, got an empty id`;
  if (id.length > MAX_DEVICE_ID_LENGTH) return `expected ${DEVICE_ID_RULE}, got ${id.length} characters`;
  if (!DEVICE_ID_PATTERN.test(id)) return `expected ${DEVICE_ID_RULE}, got ${JSON.stringify(cut(id))}`;
  return undefined;
}

export function isDeviceId(id: string): boolean {
  return deviceIdProblem(id) === undefined;
}

/** A device id in a message: a string that `deviceIdProblem` accepts. */
export const deviceIdSchema = z.string({ error: `expected ${DEVICE_ID_RULE}` }).superRefine((id, ctx) => {
  const problem = deviceIdProblem(id);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/** The AMQP routing key of a device's readings: `status.<device>`, or `status` for a reading without one. */
export function routingKeyFor(device?: string): string {
  return device === undefined ? STATUS_TOPIC : `${STATUS_TOPIC}.${device}`;
}

/** The MQTT topic of a device's readings: `status/<device>`, or `status` for a reading without one. */
export function mqttTopicFor(device?: string): string {
  return device === undefined ? STATUS_TOPIC : `${STATUS_TOPIC}/${device}`;
}

export type DeviceFromTopicResult =
  | { ok: true; device: string | undefined }
  | { ok: false; reason: 'invalid_device'; detail: string };

/**
 * The device a routing key names: `status` names none, `status.<device>` names everything after
 * `status.` (dots included, so `status.pump.17` is device `pump.17`).
 */
export function deviceFromRoutingKey(routingKey: string): DeviceFromTopicResult {
  if (routingKey === STATUS_TOPIC) return { ok: true, device: undefined };
  const prefix = `${STATUS_TOPIC}.`;
  if (!routingKey.startsWith(prefix)) {
    return { ok: false, reason: 'invalid_device', detail: `routing key ${JSON.stringify(cut(routingKey))} is not status or status.<device>` };
  }
  const device = routingKey.slice(prefix.length);
  const problem = deviceIdProblem(device);
  if (problem !== undefined) return { ok: false, reason: 'invalid_device', detail: `routing key device: ${problem}` };
  return { ok: true, device };
}

/**
 * The device an MQTT topic names, as an AMQP consumer sees it: RabbitMQ's MQTT plugin turns each
 * `/` into `.` and leaves `.` as it is, so `status/pump.17` and `status/pump/17` both name device
 * `pump.17` — deeper topic levels become dots in the id.
 */
export function deviceFromMqttTopic(topic: string): DeviceFromTopicResult {
  return deviceFromRoutingKey(topic.replaceAll('/', '.'));
}

export type ResolveDeviceResult =
  | { ok: true; device: string | undefined }
  | { ok: false; reason: 'device_conflict'; detail: string };

/**
 * The device of a reading from its routing key and its `device` field: either alone, or both
 * when they agree. When they disagree neither can be trusted to say who sent it: a conflict.
 */
export function resolveDevice(fromTopic: string | undefined, fromBody: string | undefined): ResolveDeviceResult {
  if (fromTopic !== undefined && fromBody !== undefined && fromTopic !== fromBody) {
    return {
      ok: false,
      reason: 'device_conflict',
      detail: `the routing key names device ${JSON.stringify(fromTopic)}, the body ${JSON.stringify(fromBody)}`,
    };
  }
  return { ok: true, device: fromTopic ?? fromBody };
}

/** Fewest digits of a simulated device's number. */
const FLEET_MIN_DIGITS = 4;

/**
 * The ids of a simulated fleet of `size` devices: `sim-0001`…, zero-padded to the width of `size`
 * (at least 4 digits), so that they sort in order (the broadcaster's `--devices`, the bench).
 */
export function fleetDeviceIds(size: number): string[] {
  const digits = Math.max(FLEET_MIN_DIGITS, String(size).length);
  return Array.from({ length: size }, (_, i) => `sim-${String(i + 1).padStart(digits, '0')}`);
}

/** A value short enough to quote in a reason. */
function cut(value: string): string {
  return value.length > 140 ? `${value.slice(0, 140)}…` : value;
}
