export { createMongoConnection } from './connection';
export type { MongoConnection, MongoConnectionOptions } from './connection';
export { createStatusEventStore, STATUS_EVENTS_COLLECTION } from './status-events';
export type { InsertResult, StatusEventStore, StatusEventStoreOptions } from './status-events';
export { addCounts, buildStatusCountPipeline, countByStatus, STATUS_KEYS, zeroCounts } from './status-counts';
export { floorTo, ROLLUP_LEVELS } from './rollup-plan';
export type { RollupLevel } from './rollup-plan';
export {
  countSeriesPoints,
  formatInZone,
  pointIndexOf,
  SERIES_STEP_NAMES,
  SERIES_STEPS,
  seriesShape,
  shapePoints,
  shapeRange,
  stepAt,
  timeZone,
  timeZoneNames,
  UTC,
} from './series-calendar';
export type { GridPiece, SeriesShape, SeriesStep, StepRule, TimeZone } from './series-calendar';
export type { ExpiryMark, ExpiryOptions, ExpiryResult, RebuildOptions, RefreshOptions, RefreshResult, RollupBucket, RollupOptions, Rollups } from './rollups';
export type { DeviceCounts, DevicePage, DeviceQueryOptions, DeviceSummary } from './device-counts';
export type { SeriesPoint } from './fleet-counts';
export { DEVICE_DAYS_COLLECTION, DEVICE_TOTALS_COLLECTION, DEVICES_COLLECTION } from './device-rollups';
export type { DeviceDay, DeviceRecord, DeviceTotals } from './device-rollups';
export type { CountOptions, StatusCounts, StatusKey, TimeRange } from './status-counts';
export { classifyStoreError, StoreError } from './errors';
export type { StoreErrorCode, StoreErrorKind } from './errors';
export { retryUntilDone } from './retry';
export type { RetryOptions } from './retry';
