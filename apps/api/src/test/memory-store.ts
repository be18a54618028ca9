import type { Status, StatusEvent } from '@tally/contract';
import { shapePoints, zeroCounts, type StatusCounts } from '@tally/store';
import type { CountsStore } from '../store';

export type Reading = Pick<StatusEvent, 'status' | 'ts' | 'device'>;

/**
 * A store over an array, for the API's unit tests; `fail` makes it behave like an unreachable or
 * slow database, or one whose raw readings expired (`raw_expired`, `catching_up`: every query).
 */
export function memoryStore(readings: Reading[] = [], fail?: 'unavailable' | 'slow' | 'raw_expired' | 'catching_up'): CountsStore {
  const failing = async () => {
    if (fail === 'unavailable') throw Object.assign(new Error('connect ECONNREFUSED'), { kind: 'unavailable' });
    if (fail === 'raw_expired') throw Object.assign(new Error('Raw readings before 2024-01-01T00:00:00.000Z have expired'), { kind: 'raw_expired' });
    if (fail === 'catching_up') throw Object.assign(new Error('A late reading is being added to the rollups'), { kind: 'catching_up' });
    if (fail === 'slow') await new Promise((resolve) => setTimeout(resolve, 10_000).unref());
  };
  const countByStatus: CountsStore['countByStatus'] = async ({ start, end }, { devices } = { timeoutMs: 0 }) => {
    await failing();
    const counts = zeroCounts();
    for (const { status, ts, device } of readings) {
      if (ts >= start && ts < end && (devices === undefined || (device !== undefined && devices.includes(device)))) counts[`${status as Status}`] += 1;
    }
    return counts;
  };
  const ids = () => [...new Set(readings.flatMap(({ device }) => (device === undefined ? [] : [device])))].sort();
  return {
    countByStatus,
    series: async (shape, options) =>
      Promise.all(shapePoints(shape).map(async (point) => ({ start: point.start, counts: await countByStatus(point, options) }))),
    listDevices: async ({ prefix = '', after, limit }) => {
      await failing();
      const matching = ids().filter((id) => id.startsWith(prefix) && (after === undefined || id > after));
      const page = matching.slice(0, limit).map((device) => {
        const own = readings.filter((reading) => reading.device === device).sort((a, b) => a.ts.getTime() - b.ts.getTime());
        const [first, last] = [own[0] as Reading, own.at(-1) as Reading];
        return { device, firstSeen: first.ts, lastSeen: last.ts, lastStatus: last.status as Status, readings: own.length };
      });
      return { devices: page, ...(matching.length > limit && { next: page.at(-1)?.device as string }) };
    },
    topDevices: async (range, { status, limit, timeoutMs }) => {
      await failing();
      const counted: { device: string; counts: StatusCounts }[] = [];
      for (const device of ids()) counted.push({ device, counts: await countByStatus(range, { timeoutMs, devices: [device] }) });
      return counted
        .filter(({ counts }) => counts[`${status}`] > 0)
        .sort((a, b) => b.counts[`${status}`] - a.counts[`${status}`] || (a.device < b.device ? -1 : 1))
        .slice(0, limit);
    },
    ping: async () => fail === undefined,
    classifyError: (error) => {
      const kind = (error as { kind?: string }).kind;
      return kind === 'unavailable' || kind === 'raw_expired' || kind === 'catching_up' ? kind : 'other';
    },
  };
}
