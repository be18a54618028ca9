import { MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { classifyStoreError, isTransientWriteError, StoreError, withinTimeout } from './errors';

/** An error as the driver surfaces FerretDB's answer: `{ok: 0, errmsg, code, codeName}`. */
const fromServer = (errmsg: string, code = 1, codeName = 'InternalError') => new MongoServerError({ ok: 0, errmsg, code, codeName });

describe('withinTimeout', () => {
  it('gives the result of an operation that settles in time', async () => {
    await expect(withinTimeout(Promise.resolve(42), 1000, 'x')).resolves.toBe(42);
    await expect(withinTimeout(Promise.reject(new Error('boom')), 1000, 'x')).rejects.toThrow('boom');
  });

  it('fails with a timeout StoreError when the operation hangs', async () => {
    const error = await withinTimeout(new Promise(() => undefined), 20, 'insertMany').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'timeout', message: 'insertMany did not finish within 20 ms' });
    expect(classifyStoreError(error)).toBe('timeout');
  });
});

describe('classifyStoreError', () => {
  // What FerretDB v2.5 answered (code 1, InternalError) while its PostgreSQL backends were
  // terminated, PostgreSQL recovered from a crashed backend, or was stopped (unavailable.integration.spec.ts);
  // and PostgreSQL's other messages of the kind.
  it.each([
    'terminating connection due to administrator command',
    'unexpected EOF',
    'the database system is in recovery mode',
    'the database system is not yet accepting connections',
    '[msg_find.go:42 handler.(*Handler).msgFind] [pool_cursors.go:127 documentdb.(*Pool).Find] [pool.go:86 documentdb.(*Pool).Acquire] ' +
      'failed to connect to `user=postgres database=postgres`:\n\t127.0.0.1:40211 (127.0.0.1): dial error: dial tcp 127.0.0.1:40211: connect: connection refused',
    'terminating connection because of crash of another server process',
    'the database system is starting up',
    'the database system is shutting down',
    // A backend's connection reset as PostgreSQL restarted after a crash (seen once in the spec).
    'read tcp 127.0.0.1:38588->127.0.0.1:33679: read: connection reset by peer',
    'write tcp 127.0.0.1:38588->127.0.0.1:33679: write: broken pipe',
  ])('calls FerretDB\'s "%s" unavailable', (message) => {
    expect(classifyStoreError(fromServer(message))).toBe('unavailable');
  });

  it('calls MongoDB shutting down or stepping down unavailable', () => {
    expect(classifyStoreError(fromServer('interrupted at shutdown', 11600, 'InterruptedAtShutdown'))).toBe('unavailable');
    expect(classifyStoreError(fromServer('not primary', 10107, 'NotWritablePrimary'))).toBe('unavailable');
  });

  it('leaves other server errors as they are', () => {
    expect(classifyStoreError(fromServer('unknown operator: $foo', 2, 'BadValue'))).toBe('other');
    expect(classifyStoreError(fromServer('invalid input syntax for type bson'))).toBe('other');
    expect(classifyStoreError(fromServer('operation exceeded time limit', 50, 'MaxTimeMSExpired'))).toBe('timeout');
    expect(classifyStoreError(new Error('the database system is in recovery mode'))).toBe('other');
  });
});

describe('isTransientWriteError', () => {
  it("knows PostgreSQL's deadlock as FerretDB reports it, and MongoDB's write conflicts", () => {
    expect(isTransientWriteError(16908292)).toBe(true); // 40P01, "deadlock detected" (seen from FerretDB v2.5)
    expect(isTransientWriteError(16777220)).toBe(true); // 40001, serialization_failure
    expect(isTransientWriteError(112)).toBe(true);
    expect(isTransientWriteError(11000)).toBe(false);
    expect(isTransientWriteError(1)).toBe(false);
  });
});
