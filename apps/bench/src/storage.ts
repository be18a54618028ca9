import { DEVICE_DAYS_COLLECTION, DEVICE_TOTALS_COLLECTION, DEVICES_COLLECTION, ROLLUP_LEVELS, STATUS_EVENTS_COLLECTION } from '@tally/store';
import type { Db } from 'mongodb';

/** The parts of a database that hold readings or their rollups, by what they are for. */
export const STORAGE_PARTS = [
  { part: 'raw readings', collections: [STATUS_EVENTS_COLLECTION] },
  { part: 'fleet buckets (minute, hour, day)', collections: ROLLUP_LEVELS.map((level) => level.collection) },
  { part: 'device-day documents (hour slots)', collections: [DEVICE_DAYS_COLLECTION] },
  { part: 'device directory and day totals', collections: [DEVICES_COLLECTION, DEVICE_TOTALS_COLLECTION] },
] as const;

export interface CollectionStorage {
  collection: string;
  /** Bytes of the documents on disk (`collStats.storageSize`: on DocumentDB, PostgreSQL's table). */
  documentBytes: number;
  /** Bytes of its indexes, in all and each. */
  indexBytes: number;
  indexSizes: Record<string, number>;
  /** The server's document count (on DocumentDB, PostgreSQL's row estimate). */
  count: number;
}

export interface StorageResult {
  readings: number;
  parts: { part: string; collections: CollectionStorage[]; documentBytes: number; indexBytes: number }[];
}

/** What the readings of `db` and their rollups take on disk, from `collStats`. */
export async function measureStorage(db: Db, readings: number): Promise<StorageResult> {
  const parts = [];
  for (const { part, collections } of STORAGE_PARTS) {
    const stats: CollectionStorage[] = [];
    for (const collection of collections) {
      const s = await db.command({ collStats: collection });
      stats.push({
        collection,
        documentBytes: Number(s['storageSize'] ?? 0),
        indexBytes: Number(s['totalIndexSize'] ?? 0),
        indexSizes: Object.fromEntries(Object.entries((s['indexSizes'] ?? {}) as Record<string, unknown>).map(([name, bytes]) => [name, Number(bytes)])),
        count: Number(s['count'] ?? 0),
      });
    }
    parts.push({
      part,
      collections: stats,
      documentBytes: stats.reduce((sum, c) => sum + c.documentBytes, 0),
      indexBytes: stats.reduce((sum, c) => sum + c.indexBytes, 0),
    });
  }
  return { readings, parts };
}
