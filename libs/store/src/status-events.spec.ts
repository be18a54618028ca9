import { MongoBulkWriteError, type BulkWriteResult, type Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { StoreError } from './errors';
import type { StatusEvent } from '@tally/contract';
import { createStatusEventStore } from './status-events';

/** PostgreSQL's deadlock_detected (40P01), as FerretDB reports it for one document of an insertMany. */
const DEADLOCK = { code: 16908292, errmsg: 'deadlock detected' };
const DUPLICATE = { code: 11000, errmsg: 'E11000 duplicate key error' };

type Failure = { code: number; errmsg: string };

/**
 * A database whose `insertMany` answers each call with `answer(ids)`: the failure of each document
 * by id (none: stored). Rollup marks succeed. Records the ids of every insertMany.
 */
function fakeDb(answer: (ids: string[], call: number) => Map<string, Failure>) {
  const calls: string[][] = [];
  const collection = {
    insertMany: async (documents: StatusEvent[]) => {
      const ids = documents.map((document) => document._id);
      calls.push(ids);
      const failures = answer(ids, calls.length);
      if (failures.size === 0) return { insertedCount: ids.length };
      const writeErrors = ids.flatMap((id, index) => {
        const failure = failures.get(id);
        return failure ? [{ index, ...failure, err: { index, ...failure } }] : [];
      });
      throw new MongoBulkWriteError({ message: 'write errors', code: writeErrors[0]?.code, writeErrors } as never, {} as BulkWriteResult);
    },
    bulkWrite: async () => ({}),
  };
  return { db: { collection: () => collection } as unknown as Db, calls };
}

const reading = (id: string): StatusEvent => ({ _id: id, status: 1, ts: new Date('2026-01-01T00:00:00Z'), receivedAt: new Date() });

describe('insertReadings', () => {
  it('inserts each id once, in id order, and reports the later copies of an id as duplicates', async () => {
    const { db, calls } = fakeDb(() => new Map());
    const store = createStatusEventStore({ db });
    const results = await store.insertReadings(['c', 'a', 'c', 'b', 'a'].map(reading));
    expect(calls).toEqual([['a', 'b', 'c']]);
    expect(results).toEqual([
      { stored: true, duplicate: false },
      { stored: true, duplicate: false },
      { stored: true, duplicate: true },
      { stored: true, duplicate: false },
      { stored: true, duplicate: true },
    ]);
  });

  it('retries just the documents that met a deadlock, and reports what the retry finds', async () => {
    // The other writer stored "b" meanwhile: the retry finds it stored.
    const { db, calls } = fakeDb((_, call) =>
      call === 1 ? new Map([['b', DEADLOCK], ['d', DEADLOCK], ['x', { code: 2, errmsg: 'bad value' }]]) : new Map([['b', DUPLICATE]]),
    );
    const store = createStatusEventStore({ db });
    const results = await store.insertReadings(['d', 'b', 'a', 'x', 'd'].map(reading));
    expect(calls).toEqual([['a', 'b', 'd', 'x'], ['b', 'd']]);
    expect(results).toEqual([
      { stored: true, duplicate: false },
      { stored: true, duplicate: true },
      { stored: true, duplicate: false },
      { stored: false, reason: '2: bad value' },
      { stored: true, duplicate: true },
    ]);
  });

  it('rejects the batch as a whole when a document keeps meeting conflicts, so that it is retried rather than dead-lettered', async () => {
    const { db, calls } = fakeDb(() => new Map([['b', DEADLOCK]]));
    const store = createStatusEventStore({ db });
    const error = await store.insertReadings(['a', 'b'].map(reading)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'write_conflict', message: expect.stringContaining('deadlock detected') });
    expect(calls.length).toBeGreaterThan(1);
    expect(calls.slice(1).every((ids) => ids.join() === 'b')).toBe(true);
  });
});
