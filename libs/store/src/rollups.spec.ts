import { MongoServerError, type Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { StoreError } from './errors';
import { createStatusEventStore } from './status-events';

/** A database whose every `createIndex` with a `partialFilterExpression` fails with `refusal`. */
function refusingPartialIndexes(refusal: Error) {
  const created: string[] = [];
  const collection = {
    createIndex: async (_keys: unknown, options: { name: string; partialFilterExpression?: unknown }) => {
      if (options.partialFilterExpression) throw refusal;
      created.push(options.name);
      return options.name;
    },
    dropIndex: async () => ({}),
    findOne: async () => null,
    updateOne: async () => ({}),
  };
  return { db: { collection: () => collection } as unknown as Db, created };
}

describe('ensureIndexes on an engine without partial indexes', () => {
  it('fails once with an unsupported_engine StoreError (what FerretDB v1 answers)', async () => {
    // FerretDB v1's createIndexes: NotImplemented for the options it lacks.
    const refusal = new MongoServerError({
      ok: 0,
      errmsg: 'Index option "partialFilterExpression" is not implemented yet',
      code: 238,
      codeName: 'NotImplemented',
    });
    const { db } = refusingPartialIndexes(refusal);
    const error = await createStatusEventStore({ db }).ensureIndexes().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'unsupported_engine', cause: refusal });
    expect((error as Error).message).toMatch(/partial indexes/);
  });

  it('passes on any other failure as it is, to be retried', async () => {
    const refusal = new MongoServerError({ ok: 0, errmsg: 'the database system is in recovery mode', code: 1, codeName: 'InternalError' });
    const { db } = refusingPartialIndexes(refusal);
    await expect(createStatusEventStore({ db }).ensureIndexes()).rejects.toBe(refusal);
  });
});
