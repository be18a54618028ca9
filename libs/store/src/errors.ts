import { raceTimeout } from '@tally/config';
import {
  MongoNetworkError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';

/** `unavailable`: no server answers (or its PostgreSQL does not); `timeout`: the server answered too slowly; else `other`. */
export type StoreErrorKind = 'unavailable' | 'timeout' | 'other';

const MAX_TIME_MS_EXPIRED = 50;

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
 * PostgreSQL's or its driver's message: a backend terminated, PostgreSQL restarting after a crash
 * (recovery), starting, stopping, or not listening.
 */
const POSTGRESQL_UNAVAILABLE =
  /terminating connection|unexpected EOF|the database system is (in recovery mode|not yet accepting connections|starting up|shutting down)|failed to connect to/;

/** A store call that did not settle within its bound (the server hangs, or is too slow). */
export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: 'timeout',
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
  if (error instanceof StoreError) return 'timeout';
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
