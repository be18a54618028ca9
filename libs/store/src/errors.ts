import { raceTimeout } from '@tally/runtime';
import {
  MongoNetworkError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';

/**
 * `unavailable`: no server answers (or its PostgreSQL does not); `timeout`: the server answered too
 * slowly; `raw_expired`: the question needs raw readings that retention deleted (ask it otherwise);
 * `catching_up`: a late reading is being folded into expired rollups (ask again shortly); else `other`.
 */
export type StoreErrorKind = 'unavailable' | 'timeout' | 'raw_expired' | 'catching_up' | 'other';

const MAX_TIME_MS_EXPIRED = 50;

/** MongoDB's (and FerretDB's) code for a write that met a document with the same unique key. */
export const DUPLICATE_KEY = 11000;

/**
 * For an upsert that only sets on insert, racing another writer doing the same: a duplicate key
 * means the document is there, which is all it wanted. Rethrows anything else.
 */
export function ignoreDuplicateKey(error: unknown): void {
  if (!(error instanceof Error && 'code' in error && error.code === DUPLICATE_KEY)) throw error;
}

/**
 * MongoDB's codes for a server that is shutting down, stepping down or not primary: another server
 * (or this one, restarted) answers soon.
 */
const SERVER_GOING_AWAY = new Set([
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/**
 * FerretDB passes on PostgreSQL's connection failures as `InternalError` (code 1) with
 * PostgreSQL's or its driver's message: a backend terminated (or its connection reset under the
 * read or write), PostgreSQL restarting after a crash (recovery), starting, stopping, or not listening.
 */
const POSTGRESQL_UNAVAILABLE =
  /terminating connection|unexpected EOF|connection reset by peer|broken pipe|the database system is (in recovery mode|not yet accepting connections|starting up|shutting down)|failed to connect to/;

/**
 * `timeout`: a store call did not settle within its bound (the server hangs, or is too slow);
 * `write_conflict`: readings kept meeting deadlocks or lock timeouts (the batch can be retried whole);
 * `unsupported_engine`: the server lacks what the store needs (retrying cannot help).
 */
export type StoreErrorCode = 'timeout' | 'write_conflict' | 'unsupported_engine' | 'raw_expired' | 'catching_up';

export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * `operation`, or a `StoreError` with code `timeout` once `timeoutMs` have passed. The driver's own
 * limits (`timeoutMS`, `maxTimeMS`) do not cover every wait: a server that hangs with its
 * connections open is otherwise noticed only at the socket timeout.
 */
export function withinTimeout<T>(operation: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return raceTimeout(operation, timeoutMs, () => {
    throw new StoreError('timeout', `${what} did not finish within ${timeoutMs} ms`);
  });
}

export function classifyStoreError(error: unknown): StoreErrorKind {
  if (error instanceof StoreError) {
    return error.code === 'timeout' || error.code === 'raw_expired' || error.code === 'catching_up' ? error.code : 'other';
  }
  if (error instanceof MongoOperationTimeoutError) return 'timeout';
  if (error instanceof MongoServerError && error.code === MAX_TIME_MS_EXPIRED) return 'timeout';
  if (error instanceof MongoServerError && (SERVER_GOING_AWAY.has(Number(error.code)) || POSTGRESQL_UNAVAILABLE.test(error.message))) {
    return 'unavailable';
  }
  if (
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNetworkError ||
    error instanceof MongoTopologyClosedError
  ) {
    return 'unavailable';
  }
  return 'other';
}

/** PostgreSQL's SQLSTATE as DocumentDB reports it in `code`: its five characters, six bits each. */
function sqlState(state: string): number {
  return [...state].reduce((code, char, i) => code + (((char.charCodeAt(0) - 48) & 0x3f) << (6 * i)), 0);
}

/** Write errors of one document that a retry of that document can overcome. */
const TRANSIENT_WRITE_ERRORS = new Set([
  sqlState('40P01'), // deadlock_detected: 16908292, "deadlock detected"
  sqlState('40001'), // serialization_failure
  sqlState('55P03'), // lock_not_available (lock_timeout)
  112, // MongoDB's WriteConflict
  24, // MongoDB's LockTimeout
]);

export function isTransientWriteError(code: unknown): boolean {
  return TRANSIENT_WRITE_ERRORS.has(Number(code));
}
