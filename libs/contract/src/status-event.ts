import { v5 as uuidv5, v7 as uuidv7 } from 'uuid';
import { deviceFromRoutingKey, resolveDevice, routingKeyFor } from './device';
import type { Reading } from './reading';

/** A stored reading, in collection `status_events`: one document per reading id. */
export interface StatusEvent {
  _id: string;
  /** One of `STATUSES`; typed `number` as it reads back from the collection. */
  status: number;
  /** When the reading was taken. */
  ts: Date;
  /** When the processor received it. */
  receivedAt: Date;
  /** Who sent it; absent when neither topic nor message said (and on every reading stored before devices). */
  device?: string;
}

export interface ToStatusEventOptions {
  /** The routing key the message arrived with (`status` or `status.<device>`). */
  routingKey: string;
  /** When it was received; also the `ts` of a reading without one. */
  receivedAt: Date;
}

export type ToStatusEventResult =
  | { ok: true; event: StatusEvent }
  | { ok: false; reason: 'invalid_device' | 'device_conflict'; detail: string };

/**
 * The document a reading is stored as. Its device comes from the routing key or the message's
 * `device` field; a routing key that names no valid device, or names another device than the
 * field, is refused with the reason to dead-letter it under.
 */
export function toStatusEvent(reading: Reading, { routingKey, receivedAt }: ToStatusEventOptions): ToStatusEventResult {
  const fromTopic = deviceFromRoutingKey(routingKey);
  if (!fromTopic.ok) return fromTopic;
  const resolved = resolveDevice(fromTopic.device, reading.device);
  if (!resolved.ok) return resolved;
  return { ok: true, event: statusEventFor(reading, { device: resolved.device, receivedAt }) };
}

/** The document of a reading whose device is known (`undefined`: none); `toStatusEvent` finds it from a routing key. */
export function statusEventFor(reading: Reading, { device, receivedAt }: { device: string | undefined; receivedAt: Date }): StatusEvent {
  return {
    _id: readingId(reading, device),
    status: reading.status,
    ts: reading.ts ?? receivedAt,
    receivedAt,
    ...(device !== undefined && { device }),
  };
}

/** Namespace of the ids derived from a reading's content (UUIDv5). */
const CONTENT_ID_NAMESPACE = '6f1d3c52-7a0e-4b8e-9d3c-1b2a4c6e8f00';

/**
 * The id a reading is stored under: its own, else one derived from its device, status and `ts`
 * when it carries a `ts` (so that a redelivery is stored once, and two devices' equal readings
 * twice), else a new one (a reading with neither `id` nor `ts` cannot be told apart from a copy
 * of itself). The derived id is the one stored before devices existed: the name hashed is the
 * device's routing key and the body `{"status":…,"ts":…}`, as it was then.
 */
export function readingId(reading: Pick<Reading, 'id' | 'status' | 'ts'>, device: string | undefined): string {
  if (reading.id !== undefined) return reading.id;
  if (reading.ts !== undefined) {
    const content = JSON.stringify({ status: reading.status, ts: reading.ts.toISOString() });
    return uuidv5(`${routingKeyFor(device)}\n${content}`, CONTENT_ID_NAMESPACE);
  }
  return uuidv7();
}
