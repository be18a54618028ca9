import { fleetDeviceIds } from '@tally/contract';
import { seriesShape, timeZone, type SeriesStep, type TimeZone } from '@tally/store';
import type { BenchContext } from './context';
import { measureQueries, seedReadings, startTarget, type QueryFigures, type SeedResult, type SeedSpan, type Target } from './query';
import { DAY_MS, readSeriesSum, type QueryKind } from './questions';

/** The readings of the zones phase: a year from 2025-11-01, through both changes of the clocks in Europe and America. */
export const ZONES_SPAN: SeedSpan = { start: Date.parse('2025-11-01T00:00:00Z'), days: 365, database: 'bench_zones' };
/** Devices the zones' readings come from (their series are the fleet's). */
export const ZONES_DEVICES = 100;

/**
 * A series of the zones table: `days` local days (or a year) from the local midnight of a random
 * day from `from` on (the `days` following it hold a change of the clocks), in `zone` or in UTC.
 */
interface ZoneSeries {
  name: string;
  zone: string;
  step: SeriesStep;
  /** The first day a range may start on (UTC date), and how many days after it. */
  from: string;
  startDays: number;
  /** The range: whole local days, or whole local months. */
  length: { days: number } | { months: number };
}

/** Each in its zone, then the same in UTC, as rows side by side. */
export const ZONE_SERIES: readonly ZoneSeries[] = [
  { name: '30 days at 1d', zone: 'Europe/Berlin', step: '1d', from: '2026-03-01', startDays: 28, length: { days: 30 } },
  { name: '30 days at 1d', zone: 'UTC', step: '1d', from: '2026-03-01', startDays: 28, length: { days: 30 } },
  { name: '1 year at 1mo', zone: 'America/New_York', step: '1mo', from: '2025-11-01', startDays: 29, length: { months: 12 } },
  { name: '1 year at 1mo', zone: 'UTC', step: '1mo', from: '2025-11-01', startDays: 29, length: { months: 12 } },
];

/** The local midnight `n` days (or months) after the one at `start`, as an instant. */
function after(start: number, zone: TimeZone, length: ZoneSeries['length']): number {
  const [step, count] = 'days' in length ? (['1d', length.days] as const) : (['1mo', length.months] as const);
  const shape = seriesShape({ start: new Date(start), end: new Date(start + (count + 1) * 31 * DAY_MS) }, step, zone);
  return shape?.starts[count] as number;
}

/** A row of the zones table: the series at random local midnights, compared with the raw pipeline's total. */
export function zoneKind(series: ZoneSeries): QueryKind {
  const zone = timeZone(series.zone) as TimeZone;
  return {
    name: `GET /status-counts/series, ${series.name}, ${series.zone}`,
    scope: 'fleet',
    ask: (_fleet, random) => {
      const day = Date.parse(`${series.from}T12:00:00Z`) + Math.floor(random() * series.startDays) * DAY_MS;
      // The local midnight of that day: where its 1d step begins.
      const start = seriesShape({ start: new Date(day - DAY_MS), end: new Date(day) }, '1d', zone)?.starts.at(-1) as number;
      const end = after(start, zone, series.length);
      const query = new URLSearchParams({ start_time: new Date(start).toISOString(), end_time: new Date(end).toISOString(), step: series.step, tz: series.zone });
      return {
        label: `${series.name} in ${series.zone} from ${query.get('start_time')}`,
        method: 'GET',
        path: `/status-counts/series?${query}`,
        read: readSeriesSum,
        raw: (store, timeoutMs) => store.countRawByStatus({ start: new Date(start), end: new Date(end) }, { timeoutMs }),
      };
    },
  };
}

export interface ZonesResult {
  readings: number;
  devices: number;
  spanDays: number;
  seed: SeedResult;
  /** In the order of ZONE_SERIES. */
  series: QueryFigures[];
}

export interface ZonesOptions {
  zonesReadings: number;
  samples: number;
  apiSamples: number;
  reseed: boolean;
}

/** Series in time zones beside the same in UTC, through the API, over a year of readings. */
export async function runZones(context: BenchContext, options: ZonesOptions): Promise<ZonesResult> {
  const fleet = fleetDeviceIds(ZONES_DEVICES);
  const seed = await seedReadings(context, options.zonesReadings, fleet, options.reseed, ZONES_SPAN);
  let target: Target | undefined;
  try {
    target = await startTarget(context, options.zonesReadings, seed);
    const series: QueryFigures[] = [];
    for (const kind of ZONE_SERIES.map(zoneKind)) {
      const [figures] = await measureQueries([target], kind, { devices: fleet, cursors: [] }, options);
      series.push(figures as QueryFigures);
    }
    return { readings: options.zonesReadings, devices: fleet.length, spanDays: ZONES_SPAN.days, seed, series };
  } finally {
    target?.client.close();
    await target?.stop();
  }
}
