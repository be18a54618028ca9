import {
  MongoNetworkError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';

/** `unavailable`: no server answers; `timeout`: the server answered too slowly; else `other`. */
export type StoreErrorKind = 'unavailable' | 'timeout' | 'other';

const MAX_TIME_MS_EXPIRED = 50;

export function classifyStoreError(error: unknown): StoreErrorKind {
  if (error instanceof MongoOperationTimeoutError) return 'timeout';
  if (error instanceof MongoServerError && error.code === MAX_TIME_MS_EXPIRED) return 'timeout';
  if (
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNetworkError ||
    error instanceof MongoTopologyClosedError
  ) {
    return 'unavailable';
  }
  return 'other';
}
