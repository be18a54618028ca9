import type { Status } from '@tally/contract';
import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';
import { duplicateKeyFailures, duplicateKeyIndexes, upsertAll } from './rollup-buckets';
import { DAY, floorTo, HOUR } from './rollup-plan';
import type { LateReading } from './rollup-fold';
import { addCounts, STATUS_KEYS, zeroCounts, type StatusCounts } from './status-counts';

/**
 * The counts of one device over one UTC day, an hour at a time: `h["00"]`..`h["23"]`, each the
 * counts of that hour (statuses with none left out) computed under the fleet hour's `version` `v`.
 *
 * The hour slots are written by the refresh of their fleet hour bucket, from the raw readings,
 * before it marks that bucket clean; a slot is only ever replaced by one of a later version. So
 * while a fleet hour is clean and no minute under it is dirty, every device's slot of that hour
 * holds at least every reading the fleet hour counts (a device without a slot had none): counts
 * use the slots of exactly those hours (see device-counts.ts). No writer marks anything per device.
 *
 * One document per device and day rather than per hour: a fleet whose devices send less than once
 * an hour would need as many hour documents as readings, and a refresh of a day's hours writes one
 * document per device, not one per device and hour.
 */
export interface DeviceDay {
  /** `<device> <YYYY-MM-DD>`: device ids hold no space. */
  _id: string;
  device: string;
  day: Date;
  h: Record<string, HourSlot>;
  /** The ids of the late readings folded into the slots (rollup-fold.ts): each is added once. */
  f?: string[];
  /**
   * The day's total, the sum of its slots, written by the refresh of the fleet's day (version `v`)
   * before it marks that day clean: a count of whole days sums these, a field per status, where
   * summing 24 slots per document cost DocumentDB a third of a millisecond each.
   */
  d?: HourSlot;
}
export interface HourSlot {
  v: number;
  c: Partial<StatusCounts>;
}

/** What Tally knows of a device from its readings, as of the last refresh of their minutes. */
export interface DeviceRecord {
  _id: string;
  first_seen: Date;
  /** The latest reading: its time, then its status (the higher one when two share a millisecond). */
  last: { at: Date; status: Status };
}

/**
 * A device's day totals by UTC day (`YYYY-MM-DD`), each written with the `d` of its device-day
 * document and under the same rule: a page of the directory counts whole days from these, one
 * document per device, where summing a month of device-day documents for 100 devices took
 * DocumentDB 28 ms. Not in the directory's record, which the minute refresh rewrites every minute
 * a device is seen (a year of days in it would be ~30 KB rewritten a minute per device).
 */
export interface DeviceTotals {
  _id: string;
  days: Record<string, HourSlot>;
}

/** The counts of the devices of one fleet hour bucket, refreshed under its `version`. */
export interface HourOfDevices {
  start: number;
  version: number;
  devices: ReadonlyMap<string, StatusCounts>;
}

export const DEVICE_DAYS_COLLECTION = 'status_rollups_device_day';
export const DEVICES_COLLECTION = 'status_devices';
export const DEVICE_TOTALS_COLLECTION = 'status_device_totals';
/** Documents looked up or written per call: a fleet of a million devices has a million documents a day. */
const WRITE_BATCH = 10_000;

export interface DeviceRollups {
  days: Collection<DeviceDay>;
  devices: Collection<DeviceRecord>;
  totals: Collection<DeviceTotals>;
  ensureIndexes(): Promise<void>;
  /** Writes the slots of these hours, each device's hours of one day in one update. */
  writeHours(hours: readonly HourOfDevices[]): Promise<void>;
  /** Writes the day totals of these fleet days from the slots of their documents, and each device's (`totals`). */
  writeDays(days: readonly { start: number; version: number }[]): Promise<void>;
  /** Records first and latest readings of devices seen in a refreshed stretch. */
  noteSeen(seen: readonly DeviceRecord[]): Promise<void>;
  /** Adds late readings into expired hours to their devices' hour slots, each once (see rollup-fold.ts). */
  foldLate(readings: readonly LateReading[]): Promise<void>;
}

export function createDeviceRollups(db: Db): DeviceRollups {
  const days = db.collection<DeviceDay>(DEVICE_DAYS_COLLECTION);
  const devices = db.collection<DeviceRecord>(DEVICES_COLLECTION);
  const totals = db.collection<DeviceTotals>(DEVICE_TOTALS_COLLECTION);
  return {
    days,
    devices,
    totals,
    ensureIndexes: async () => {
      await days.createIndex({ device: 1, day: 1 }, { name: 'device_day' });
      await days.createIndex({ day: 1 }, { name: 'day' });
    },
    writeHours: async (hours) => {
      const perDocument = new Map<string, { device: string; day: number; slots: Map<string, HourSlot> }>();
      for (const { start, version, devices: counts } of hours) {
        const day = floorTo(start, DAY.ms);
        for (const [device, deviceCounts] of counts) {
          const id = deviceDayId(device, day);
          const entry = perDocument.get(id) ?? { device, day, slots: new Map<string, HourSlot>() };
          entry.slots.set(hourKey(start), { v: version, c: nonZero(deviceCounts) });
          perDocument.set(id, entry);
        }
      }
      // Each slot only over an older one (a refresh that read an earlier version may end last).
      // A slot as new or newer makes the whole update miss, then its upsert meets a duplicate
      // `_id`: those are retried a slot at a time, and a slot that misses again is left as it is.
      const update = (id: string, device: string, day: number, slots: [string, HourSlot][]): AnyBulkWriteOperation<DeviceDay> => ({
        updateOne: {
          filter: { _id: id, $and: slots.map(([key, slot]) => ({ $or: [{ [`h.${key}.v`]: { $lt: slot.v } }, { [`h.${key}`]: { $exists: false } }] })) },
          update: { $set: { device, day: new Date(day), ...Object.fromEntries(slots.map(([key, slot]) => [`h.${key}`, slot])) } },
          upsert: true,
        },
      });
      const all = [...perDocument].sort(([a], [b]) => (a < b ? -1 : 1));
      if (all.length === 0) return;
      // Documents that do not exist yet are inserted whole, at a fraction of an upsert's cost (a
      // fleet reporting less than once an hour has about one new document per reading); one that
      // another refresh created meanwhile fails with a duplicate key and is updated as the rest.
      const existing = new Set<string>();
      for (let i = 0; i < all.length; i += WRITE_BATCH) {
        const ids = all.slice(i, i + WRITE_BATCH).map(([id]) => id);
        for (const found of await days.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray()) existing.add(found._id);
      }
      const fresh = all.filter(([id]) => !existing.has(id));
      const taken = await insertNew(
        days,
        fresh.map(([id, { device, day, slots }]) => ({ _id: id, device, day: new Date(day), h: Object.fromEntries(slots) })),
      );
      const whole = all.filter(([id]) => existing.has(id) || taken.has(id));
      if (whole.length === 0) return;
      const missed = new Set(
        (await duplicateKeyFailures(days, whole.map(([id, { device, day, slots }]) => update(id, device, day, [...slots]))))
          .map((operation) => ('updateOne' in operation ? String(operation.updateOne.filter._id) : '')),
      );
      const single = whole
        .filter(([id]) => missed.has(id))
        .flatMap(([id, { device, day, slots }]) => [...slots].map((slot) => update(id, device, day, [slot])));
      if (single.length > 0) await duplicateKeyFailures(days, single);
    },
    writeDays: async (settled) => {
      for (const { start, version } of settled) {
        const key = dayKey(start);
        // Only over an older total: a refresh that read an earlier version may end last.
        const older = (path: string) => ({ $or: [{ [`${path}.v`]: { $lt: version } }, { [path]: { $exists: false } }] });
        let written: { device: string; id: string; total: HourSlot }[] = [];
        const write = async () => {
          await days.bulkWrite(
            written.map(({ id, total }) => ({ updateOne: { filter: { _id: id, ...older('d') }, update: { $set: { d: total } } } })),
            { ordered: false },
          );
          // Upserted, so a duplicate key is either a total of that day as new already or a document
          // another refresh (of another day) created meanwhile: retried once, the second kind matches.
          const raced = await duplicateKeyFailures(
            totals,
            written.map(({ device, total }) => ({
              updateOne: { filter: { _id: device, ...older(`days.${key}`) }, update: { $set: { [`days.${key}`]: total } }, upsert: true },
            })),
          );
          if (raced.length > 0) await duplicateKeyFailures(totals, raced);
          written = [];
        };
        for await (const document of days.find({ day: new Date(start) }, { projection: { device: 1, h: 1 } })) {
          const total = zeroCounts();
          for (const slot of Object.values(document.h ?? {})) addCounts(total, { ...zeroCounts(), ...slot.c });
          written.push({ device: document.device, id: document._id, total: { v: version, c: nonZero(total) } });
          if (written.length >= WRITE_BATCH) await write();
        }
        if (written.length > 0) await write();
      }
    },
    foldLate: async (readings) => {
      const perDocument = new Map<string, { device: string; day: number; readings: LateReading[] }>();
      for (const reading of readings) {
        if (reading.device === undefined) continue;
        const day = floorTo(reading.ts.getTime(), DAY.ms);
        const id = deviceDayId(reading.device, day);
        const entry = perDocument.get(id) ?? { device: reading.device, day, readings: [] };
        entry.readings.push(reading);
        perDocument.set(id, entry);
      }
      if (perDocument.size === 0) return;
      const recorded = new Map(
        (await days.find({ _id: { $in: [...perDocument.keys()] } }, { projection: { f: 1 } }).toArray()).map((d) => [d._id, new Set(d.f ?? [])]),
      );
      const operations: AnyBulkWriteOperation<DeviceDay>[] = [];
      for (const [id, { device, day, readings: ofDocument }] of perDocument) {
        const fresh = ofDocument.filter((reading) => !recorded.get(id)?.has(reading._id));
        if (fresh.length === 0) continue;
        const increments: Record<string, number> = {};
        for (const { ts, status } of fresh) {
          const path = `h.${hourKey(floorTo(ts.getTime(), HOUR.ms))}.c.${status}`;
          increments[path] = (increments[path] ?? 0) + 1;
        }
        const ids = fresh.map((reading) => reading._id);
        // Matches only while none of these ids is recorded; an upsert that then meets the document is one already done.
        operations.push({
          updateOne: {
            filter: { _id: id, f: { $nin: ids } },
            update: { $inc: increments, $push: { f: { $each: ids } }, $set: { device, day: new Date(day) } },
            upsert: true,
          },
        });
      }
      if (operations.length > 0) await duplicateKeyFailures(days, operations);
    },
    noteSeen: async (seen) => {
      if (seen.length === 0) return;
      await upsertAll(
        devices,
        [...seen]
          .sort((a, b) => (a._id < b._id ? -1 : 1))
          .map((record) => ({
            updateOne: {
              filter: { _id: record._id },
              update: { $min: { first_seen: record.first_seen }, $max: { last: record.last } },
              upsert: true,
            },
          })),
      );
    },
  };
}

/** Inserts `documents`, unordered; gives back the ids that already existed (a duplicate key). */
async function insertNew(days: Collection<DeviceDay>, documents: DeviceDay[]): Promise<Set<string>> {
  if (documents.length === 0) return new Set();
  const taken = await duplicateKeyIndexes(days.insertMany(documents, { ordered: false }));
  return new Set(taken.map((index) => (documents[index] as DeviceDay)._id));
}

export function deviceDayId(device: string, day: number): string {
  return `${device} ${dayKey(day)}`;
}

/** The UTC day of `time` as `YYYY-MM-DD`. */
export function dayKey(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** The slot key of the hour starting at `start`: `"00"`..`"23"`. */
export function hourKey(start: number): string {
  return hourKeyOf((start - floorTo(start, DAY.ms)) / HOUR.ms);
}

/** The slot key of hour `hour` (0..23) of a day: `"00"`..`"23"`. */
export function hourKeyOf(hour: number): string {
  return String(hour).padStart(2, '0');
}

function nonZero(counts: StatusCounts): Partial<StatusCounts> {
  return Object.fromEntries(STATUS_KEYS.filter((key) => counts[key] > 0).map((key) => [key, counts[key]]));
}
