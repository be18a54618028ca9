import { isDeviceId, type StatusEvent } from '@tally/contract';

const MINUTE_MS = 60_000;
/**
 * Devices listed per minute at most: past it a minute is announced without its list ("any device"),
 * which keeps a message small however large the batch.
 */
export const MAX_DEVICES_PER_MINUTE = 1000;

/** A minute some readings of a batch fall in. */
export interface ChangedMinute {
  /** The minute's start, UTC, in milliseconds since the epoch. */
  start: number;
  /**
   * The devices of those readings (readings without a device change the fleet's counts alone).
   * `undefined`: too many to list, any device may have changed.
   */
  devices?: string[];
}

/** What one stored batch changed: its readings' minutes, and their devices. */
export interface Changes {
  minutes: ChangedMinute[];
}

/** The minutes (and devices) that `events` fall in: what a batch announces once it is stored. */
export function changesOf(events: readonly StatusEvent[]): Changes {
  const byMinute = new Map<number, Set<string> | undefined>();
  for (const { ts, device } of events) {
    const start = Math.floor(ts.getTime() / MINUTE_MS) * MINUTE_MS;
    if (!byMinute.has(start)) byMinute.set(start, new Set());
    const devices = byMinute.get(start);
    if (devices === undefined || device === undefined) continue;
    devices.add(device);
    if (devices.size > MAX_DEVICES_PER_MINUTE) byMinute.set(start, undefined);
  }
  return {
    minutes: [...byMinute].map(([start, devices]) => (devices === undefined ? { start } : { start, devices: [...devices] })),
  };
}

/** The body of an announcement: `{"minutes": [{"start": 1764772680000, "devices": ["pump-17"]}]}`. */
export function encodeChanges(changes: Changes): Buffer {
  return Buffer.from(JSON.stringify(changes));
}

/** The changes an announcement's body names, or `undefined` when it is not one (it is then ignored). */
export function decodeChanges(body: unknown): Changes | undefined {
  let value: unknown;
  try {
    value = typeof body === 'string' || Buffer.isBuffer(body) ? JSON.parse(body.toString()) : body;
  } catch {
    return undefined;
  }
  const minutes = (value as { minutes?: unknown } | null)?.minutes;
  if (!Array.isArray(minutes) || !minutes.every(isChangedMinute)) return undefined;
  return { minutes };
}

function isChangedMinute(value: unknown): value is ChangedMinute {
  if (typeof value !== 'object' || value === null) return false;
  const { start, devices } = value as { start?: unknown; devices?: unknown };
  if (typeof start !== 'number' || !Number.isSafeInteger(start) || start % MINUTE_MS !== 0) return false;
  return devices === undefined || (Array.isArray(devices) && devices.every((device) => typeof device === 'string' && isDeviceId(device)));
}
