import type { Status, StatusEvent } from '@tally/contract';
import type { Collection } from 'mongodb';
import type { DeviceRecord, DeviceRollups } from './device-rollups';
import type { BucketRepository } from './rollup-buckets';
import { HOUR, DAY, MINUTE } from './rollup-plan';
import { STATUS_KEYS } from './status-counts';

/** Folds the late readings of these dirty minutes (whose raw readings expired) into the rollups; gives how many it made clean. */
export type FoldLate = (minutes: readonly { _id: Date; version: number }[]) => Promise<number>;

/** A late reading as folded: what the rollups count of it. */
export type LateReading = Pick<StatusEvent, '_id' | 'status' | 'ts' | 'device'>;

/** Late readings one update of a minute folds in (their ids are kept in it: ~40 bytes each). */
const FOLD_BATCH = 1000;

/**
 * A minute whose raw readings expired is never recomputed: the raw readings it still holds are the
 * late ones, those not yet in its `folded` list are added to its counts. Crash-safe without
 * transactions, as each document records the ids it added with the counts, in one update that
 * matches only while none of them is recorded yet: first each device's day document (its hour
 * slot), then the minute's hour and day are marked changed, then the minute (under its version,
 * as a refresh would). A step that failed is redone whole; what was recorded is skipped.
 *
 * Late readings stay raw (they are few): a redelivered copy of one meets its twin and counts once.
 */
export function createFolder(buckets: BucketRepository, raw: Collection<StatusEvent>, devices: DeviceRollups): FoldLate {
  const minutes = buckets.collection(MINUTE) as unknown as Collection<{ _id: Date; version: number; dirty: boolean; folded?: string[] }>;
  return async (dirty) => {
    let cleaned = 0;
    for (const { _id, version } of dirty) {
      const recorded = new Set((await minutes.findOne({ _id }, { projection: { folded: 1 } }))?.folded ?? []);
      const readings = await raw
        .find({ ts: { $gte: _id, $lt: new Date(_id.getTime() + MINUTE.ms) } }, { projection: { _id: 1, status: 1, ts: 1, device: 1 } })
        .toArray();
      const late = readings.filter((reading) => !recorded.has(reading._id));
      const batch = late.slice(0, FOLD_BATCH);
      if (batch.length > 0) {
        await devices.foldLate(batch);
        await devices.noteSeen(seenIn(batch));
        await buckets.markChanged([_id], [HOUR, DAY]);
      }
      const increments = Object.fromEntries(STATUS_KEYS.map((key) => [`counts.${key}`, batch.filter((r) => String(r.status) === key).length]));
      const ids = batch.map((reading) => reading._id);
      const done = late.length <= FOLD_BATCH;
      const { modifiedCount } = await minutes.updateOne(
        { _id, version, dirty: true, folded: { $nin: ids } },
        {
          $inc: increments,
          $push: { folded: { $each: ids } },
          ...(done ? { $set: { dirty: false, countsVersion: version } } : {}),
        },
      );
      if (done && modifiedCount === 1) cleaned++;
    }
    return cleaned;
  };
}

/** The first and latest reading of each device among `readings`, as the directory records them. */
function seenIn(readings: readonly LateReading[]): DeviceRecord[] {
  const seen = new Map<string, DeviceRecord>();
  for (const { device, ts, status: stored } of readings) {
    if (device === undefined) continue;
    const status = stored as Status;
    const record = seen.get(device) ?? { _id: device, first_seen: ts, last: { at: ts, status } };
    if (ts < record.first_seen) record.first_seen = ts;
    if (ts > record.last.at || (ts.getTime() === record.last.at.getTime() && status > record.last.status)) record.last = { at: ts, status };
    seen.set(device, record);
  }
  return [...seen.values()];
}
