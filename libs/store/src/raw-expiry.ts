import { randomUUID } from 'node:crypto';
import type { StatusEvent } from '@tally/contract';
import { sleep } from '@tally/runtime';
import type { Collection, Db } from 'mongodb';
import type { BucketRepository } from './rollup-buckets';
import { EVERYTHING, ROLLUP_META_COLLECTION, type Coverage } from './rollup-coverage';
import { bucketExpression, type Stretch } from './raw-counts';
import { edgeBucket, readingProbe } from './raw-edges';
import { floorTo, HOUR, MINUTE } from './rollup-plan';
import { totalOf } from './status-counts';
import { ignoreDuplicateKey } from './errors';

/**
 * Where raw readings are gone: all before `before` (a whole UTC hour) but late ones, which the
 * refresher folds into the rollups (rollup-fold.ts) and keeps. Counts treat everything before
 * `horizon` as gone already: it was `announced` at least the grace before any step deletes there.
 * A `step` expires `[before, end)`, whose readings start in the hour `hour`: one processor at a
 * time holds it (`owner`, until `until`).
 */
interface ExpiryDocument {
  _id: typeof EXPIRY_ID;
  before: Date;
  horizon?: Date;
  announced?: Date;
  step?: { hour: Date; end: Date; owner: string; until: Date; deleting: boolean };
}

/** The expiry's state as counts and the refresher read it: raw readings before `reach` may be gone. */
export interface ExpiryMark {
  /** Below this, every raw reading but the late ones is gone: buckets there are folded into, never recomputed. */
  before: number;
  /** Below this, counts take raw readings as gone: the announced horizon, or the end of a step. */
  reach: number;
  /** Below this, raw readings may be going now: the end of a step while one runs (its buckets wait for it), else `before`. */
  expiring: number;
}

/** What one call of `expireStep` did. */
export type ExpiryResult =
  /** `restedMs`: how long it rested after its work (`restRatio`). */
  | { state: 'expired'; hour: Date; end: Date; deleted: number; restedMs: number }
  | { state: 'idle' }
  | { state: 'held'; by: string }
  | { state: 'waiting'; hour: Date; reason: string };

export interface ExpiryOptions {
  /** Readings with `ts` before this hour-aligned time are expired (now − RAW_RETENTION). */
  olderThan: number;
  /** The present, for the guard on readings received lately. @default now */
  now?: number;
  /**
   * Wait between announcing a step and deleting its readings, so that counts that read the mark
   * before the announcement end first (API requests end within API_REQUEST_TIMEOUT_MS). @default 30 s
   */
  graceMs?: number;
  /** Stops the step at its next batch (a step that was deleting is taken over once its hold lapses). */
  signal?: AbortSignal;
  /**
   * After a step that deleted readings, rest this many times as long as it worked (the grace not
   * counted) before resolving: a processor catching up on a backlog of old readings then gives the
   * database back most of its time, so that ingest beside it keeps its pace. @default 1.5
   */
  restRatio?: number;
}

/**
 * How long a step rests for each millisecond it worked: a processor catching up on old readings
 * spends at most 40 % of its time deleting. Measured (bench/README.md, "Time at 10,000,000
 * readings"): steps back to back took the database from a drain beside them (0.58× its pace alone,
 * before deletes used the `ts` index); resting, expiry still deletes faster than readings are
 * inserted, and the drain keeps its pace.
 */
export const EXPIRY_REST_RATIO = 1.5;

const EXPIRY_ID = 'raw-expiry';
export const EXPIRY_IDS_COLLECTION = 'status_expiry_ids';
/** A step whose minutes each hold at most this many readings lists their ids a minute per document (under 16 MB). */
const GROUPED_MINUTE_LIMIT = 100_000;
/** Most hours one step expires (quiet hours are taken many at once). */
const MAX_STEP_HOURS = 24 * 7;
/** A step's hold, renewed before each batch of deletes: another processor takes over a step once it lapsed. */
const LEASE_MS = 60_000;
/** Readings a batch of ids deletes (and one document of `status_expiry_ids` holds). */
export const DELETE_BATCH = 10_000;
/**
 * A reading received this recently keeps its hour from expiring: a redelivered copy of it (a
 * processor crashed before acknowledging) then still meets its raw twin and counts once, where
 * after expiry the copy would be counted again as a late reading.
 */
export const REDELIVERY_GUARD_MS = 86_400_000;

export interface RawExpiry {
  /** The mark, read now (it only moves forward: a stale read is too low). */
  mark(): Promise<ExpiryMark>;
  /** Expires the oldest hour older than `olderThan` that holds raw readings, if no other processor is at it. */
  expireStep(options: ExpiryOptions): Promise<ExpiryResult>;
}

export function createRawExpiry(db: Db, raw: Collection<StatusEvent>, buckets: BucketRepository, coverage: Coverage): RawExpiry {
  const meta = db.collection<ExpiryDocument>(ROLLUP_META_COLLECTION);
  const idLists = db.collection<{ _id: string; hour: Date; ids: string[] }>(EXPIRY_IDS_COLLECTION);
  const owner = randomUUID();
  const anyReading = readingProbe(raw);

  const mark = async (): Promise<ExpiryMark> => {
    const document = await meta.findOne({ _id: EXPIRY_ID });
    const before = document?.before.getTime() ?? EVERYTHING.getTime();
    const expiring = Math.max(before, document?.step?.end.getTime() ?? before);
    return { before, expiring, reach: Math.max(expiring, document?.horizon?.getTime() ?? before) };
  };

  /** Renews this processor's hold on the step (and sets `extra`); false when another took it over. */
  const hold = async (extra: Record<string, unknown> = {}) =>
    (await meta.updateOne({ _id: EXPIRY_ID, 'step.owner': owner }, { $set: { 'step.until': new Date(Date.now() + LEASE_MS), ...extra } }))
      .matchedCount === 1;

  const release = async () => {
    await meta.updateOne({ _id: EXPIRY_ID, 'step.owner': owner }, { $unset: { step: '' } });
  };

  /**
   * Takes the step from `before` over the oldest hour with raw readings and the hours after it while
   * they hold at most `DELETE_BATCH` readings together (by their hour buckets), or over a lapsed
   * step; it starts at `before`, so that no minute below the new mark went unchecked.
   */
  const take = async (olderThan: number): Promise<{ hour: number; end: number; from: number; deleting: boolean } | ExpiryResult> => {
    await meta.updateOne({ _id: EXPIRY_ID }, { $setOnInsert: { before: EVERYTHING } }, { upsert: true }).catch(ignoreDuplicateKey);
    const document = (await meta.findOne({ _id: EXPIRY_ID })) as ExpiryDocument;
    const { before, step } = document;
    if (step && step.until.getTime() > Date.now() && step.owner !== owner) return { state: 'held', by: step.owner };
    let hour = step?.hour.getTime();
    if (hour === undefined) {
      hour = await oldestHour(before.getTime(), olderThan);
      if (hour === undefined || hour + HOUR.ms > olderThan) return { state: 'idle' };
    }
    const end = step?.end.getTime() ?? (await stepEnd(hour, olderThan));
    // Counts learn of what will expire once per catching up (or hour), not per step: the grace is waited once.
    const announce = (document.horizon?.getTime() ?? -Infinity) < end ? { horizon: new Date(Math.max(end, olderThan)), announced: new Date() } : {};
    const taken = await meta.updateOne(step ? { _id: EXPIRY_ID, 'step.owner': step.owner, 'step.until': step.until } : { _id: EXPIRY_ID, before, step: { $exists: false } }, {
      $set: {
        step: { hour: new Date(hour), end: new Date(end), owner, until: new Date(Date.now() + LEASE_MS), deleting: step?.deleting ?? false },
        ...announce,
      },
    });
    if (taken.matchedCount === 0) return { state: 'held', by: 'another processor' };
    return { hour, end, from: before.getTime(), deleting: step?.deleting ?? false };
  };

  /**
   * The oldest hour of `[from, olderThan)` with raw readings. The search starts from the edge nearest
   * them (each probe reads the readings of its stretch): where the last step ended, and on the first
   * step (`from` is the beginning of time) where coverage starts, unless readings lie before it
   * (then the step will be refused: those need a rebuild first).
   */
  const oldestHour = async (from: number, olderThan: number) => {
    const coveredFrom = floorTo((await coverage.read('coverage')).getTime(), HOUR.ms);
    const near = from < coveredFrom && !(await anyReading({ start: from, end: Math.min(coveredFrom, olderThan) })) ? coveredFrom : from;
    return edgeBucket(anyReading, { start: near, end: olderThan }, 'first', HOUR.ms);
  };

  /** The end of a step from `hour`: hours while their buckets count at most `DELETE_BATCH` readings together, at least one. */
  const stepEnd = async (hour: number, olderThan: number) => {
    const hours = await buckets
      .collection(HOUR)
      .find({ _id: { $gte: new Date(hour), $lt: new Date(olderThan) } }, { projection: { counts: 1 } })
      .sort({ _id: 1 })
      .limit(MAX_STEP_HOURS)
      .toArray();
    let end = hour + HOUR.ms;
    let readings = 0;
    for (const { _id, counts } of hours) {
      readings += totalOf(counts);
      if (readings > DELETE_BATCH && _id.getTime() > hour) break;
      end = _id.getTime() + HOUR.ms;
    }
    return Math.min(end, olderThan);
  };

  /**
   * Lists the ids of the raw readings of `[from, hour + 1 h)` (in `status_expiry_ids`) once every
   * minute and hour bucket there is clean and each minute's counts hold exactly its raw readings,
   * checked again after the listing: the readings listed are then the ones counted (raw readings
   * only grow meanwhile, and a bucket's counts change only with its version). A reading written
   * after the listing is not listed, stays, and is folded in as a late one.
   */
  const list = async (from: number, hour: number, end: number, now: number): Promise<string | undefined> => {
    const range = { _id: { $gte: new Date(from), $lt: new Date(end) } };
    const states = async () => {
      const [minutes, hours] = await Promise.all([
        buckets.collection(MINUTE).find(range, { projection: { version: 1, dirty: 1, counts: 1 } }).toArray(),
        buckets.collection(HOUR).find(range, { projection: { version: 1, dirty: 1 } }).toArray(),
      ]);
      return { minutes, hours, unclean: [...minutes, ...hours].some((bucket) => bucket.dirty !== false) };
    };
    const coveredFrom = Math.max((await coverage.read('coverage')).getTime(), (await coverage.read('device-coverage')).getTime());
    if (coveredFrom > hour) return `the rollups hold every reading only from ${new Date(coveredFrom).toISOString()}: rebuild them (--rebuild-rollups) over the readings before`;
    const first = await states();
    if (first.unclean) return 'buckets there are waiting for a refresh';
    await idLists.deleteMany({ hour: new Date(hour) });
    const perMinute = new Map<number, number>();
    let latest = -Infinity;
    let batch: string[] = [];
    let part = 0;
    const add = async (minute: number, ids: readonly string[], received: number) => {
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + ids.length);
      latest = Math.max(latest, received);
      batch.push(...ids);
      if (batch.length >= DELETE_BATCH) await flush();
    };
    const flush = async () => {
      if (batch.length === 0) return;
      await idLists.insertOne({ _id: `${new Date(hour).toISOString()}/${part++}`, hour: new Date(hour), ids: batch });
      batch = [];
    };
    const within = { ts: { $gte: new Date(from), $lt: new Date(end) } };
    if (first.minutes.every((minute) => totalOf(minute.counts) <= GROUPED_MINUTE_LIMIT)) {
      // Gathered per minute by the server: FerretDB hands over 500 documents much faster than
      // 10,000 (176 against 473 ms for 10,000 readings).
      const groups = raw.aggregate<{ _id: number; ids: string[]; latest: Date }>([
        { $match: within },
        { $group: { _id: bucketExpression(MINUTE.ms), ids: { $push: '$_id' }, latest: { $max: '$receivedAt' } } },
      ]);
      for await (const group of groups) await add(Number(group._id), group.ids, group.latest.getTime());
    } else {
      for await (const reading of raw.find(within, { projection: { _id: 1, ts: 1, receivedAt: 1 } })) {
        await add(floorTo(reading.ts.getTime(), MINUTE.ms), [reading._id], reading.receivedAt.getTime());
      }
    }
    if (latest > now - REDELIVERY_GUARD_MS) {
      return `a reading there was received at ${new Date(latest).toISOString()}, less than a day ago (a redelivered copy must still meet it)`;
    }
    await flush();
    const second = await states();
    const versions = (list: readonly { _id: Date; version: number }[]) => list.map((b) => `${b._id.getTime()}:${b.version}`).join();
    if (second.unclean || versions(first.minutes) !== versions(second.minutes) || versions(first.hours) !== versions(second.hours)) {
      return 'buckets there changed while their readings were listed';
    }
    const counted = new Map(second.minutes.map((m) => [m._id.getTime(), totalOf(m.counts)]));
    for (const minute of new Set([...counted.keys(), ...perMinute.keys()])) {
      if ((counted.get(minute) ?? 0) !== (perMinute.get(minute) ?? 0)) {
        return `the minute ${new Date(minute).toISOString()} counts ${counted.get(minute) ?? 0} readings but holds ${perMinute.get(minute) ?? 0}`;
      }
    }
    return undefined;
  };

  /**
   * Deletes the readings listed for the step of `hour` (listed from `[from, end)`), a batch at a
   * time, while this processor holds the step. By their ids within the step's range: DocumentDB
   * deletes by `_id` `$in` alone without an index, reading every raw reading (5.2 s for 11,416 of
   * 10M, and in proportion to the collection); the range lets it use the `ts` index (67 ms), and
   * the ids keep the readings written since the listing.
   */
  const deleteListed = async (hour: number, { start, end }: Stretch, signal: AbortSignal | undefined): Promise<number | undefined> => {
    let deleted = 0;
    const within = { $gte: new Date(start), $lt: new Date(end) };
    for await (const { _id, ids } of idLists.find({ hour: new Date(hour) }).sort({ _id: 1 })) {
      if (signal?.aborted || !(await hold())) return undefined;
      deleted += (await raw.deleteMany({ ts: within, _id: { $in: ids } })).deletedCount;
      await idLists.deleteOne({ _id });
    }
    return deleted;
  };

  return {
    mark,
    expireStep: async ({ olderThan, now = Date.now(), graceMs = 30_000, signal, restRatio = EXPIRY_REST_RATIO }) => {
      const started = performance.now();
      let graceWaitedMs = 0;
      const step = await take(floorTo(olderThan, HOUR.ms));
      if ('state' in step) return step;
      const { hour, end, from } = step;
      if (!step.deleting) {
        const problem = await list(from, hour, end, now);
        if (problem !== undefined) {
          await idLists.deleteMany({ hour: new Date(hour) });
          await release();
          return { state: 'waiting', hour: new Date(hour), reason: problem };
        }
        const announced = (await meta.findOne({ _id: EXPIRY_ID }))?.announced?.getTime() ?? Date.now();
        graceWaitedMs = Math.max(0, announced + graceMs - Date.now());
        await sleep(graceWaitedMs, signal);
        if (signal?.aborted) {
          await idLists.deleteMany({ hour: new Date(hour) });
          await release();
          return { state: 'idle' };
        }
        if (!(await hold({ 'step.deleting': true }))) return { state: 'held', by: 'another processor' };
      }
      const deleted = await deleteListed(hour, { start: from, end }, signal);
      if (deleted === undefined) return signal?.aborted ? { state: 'idle' } : { state: 'held', by: 'another processor' };
      await meta.updateOne({ _id: EXPIRY_ID, 'step.owner': owner }, { $set: { before: new Date(end) }, $unset: { step: '' } });
      const restMs = (performance.now() - started - graceWaitedMs) * restRatio;
      await sleep(restMs, signal);
      return { state: 'expired', hour: new Date(hour), end: new Date(end), deleted, restedMs: Math.round(restMs) };
    },
  };
}
