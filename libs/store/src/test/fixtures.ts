import { testDatabase, waitForDevstack } from '@tally/devstack';
import { afterAll, beforeAll } from 'vitest';
import { createMongoConnection, type MongoConnection } from '../connection';
import { SERIES_STEP_NAMES, seriesShape, timeZone, type SeriesShape, type TimeZone } from '../series-calendar';
import type { TimeRange } from '../status-counts';
import { createStatusEventStore } from '../status-events';

/**
 * Stores on databases of their own on the devstack, each dropped after the spec file: `fresh()`
 * gives one whose next insert, after `crashAfterRawInsert()`, stops between raw insert and rollup
 * update, as a processor killed there does.
 */
export function freshStores(name: string) {
  let uri: string;
  const connections: MongoConnection[] = [];
  beforeAll(async () => {
    uri = (await waitForDevstack()).mongodbUri;
  });
  afterAll(async () => {
    for (const connection of connections) {
      await connection.db.dropDatabase();
      await connection.close();
    }
  });
  const fresh = () => {
    const connection = createMongoConnection({ uri: testDatabase(uri, name).uri });
    connections.push(connection);
    let crash = false;
    const store = createStatusEventStore({
      db: connection.db,
      afterRawInsert: () => {
        if (!crash) return;
        crash = false;
        throw new Error('crashed between raw insert and rollup update');
      },
    });
    return { store, db: connection.db, crashAfterRawInsert: () => (crash = true) };
  };
  /** A database URI of its own for a client the spec opens itself, dropped with the rest. */
  const databaseUri = () => testDatabase(uri, name).uri;
  return Object.assign(fresh, { databaseUri, track: (connection: MongoConnection) => connections.push(connection) });
}

/** A deterministic generator, so that a failure names the seed that reproduces it. */
export function generator(seed: number) {
  let state = seed;
  const next = () => ((state = (state * 48271) % 2147483647) / 2147483647);
  return { next, int: (below: number) => Math.floor(next() * below) };
}

export type Random = ReturnType<typeof generator>;

/** Zones of whole, half and three-quarter hour offsets, with and without daylight saving time. */
export const SERIES_ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu'] as const;

/** A random step in a random zone among those giving `range` fewer than `maxPoints` points, and its shape. */
export function randomSeriesShape(random: Random, range: TimeRange, maxPoints: number): { shape: SeriesShape; what: string } {
  const zone = timeZone(SERIES_ZONES[random.int(SERIES_ZONES.length)] as string) as TimeZone;
  const fitting = SERIES_STEP_NAMES.flatMap((step) => {
    const shape = seriesShape(range, step, zone, maxPoints - 1);
    return shape ? [{ step, shape }] : [];
  });
  const { step, shape } = fitting[random.int(fitting.length)] as (typeof fitting)[number];
  return { shape, what: `step ${step} in ${zone.name}` };
}
