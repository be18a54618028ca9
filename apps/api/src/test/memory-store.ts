import type { Status, StatusEvent } from '@tally/contract';
import { seriesPoints, zeroCounts } from '@tally/store';
import type { CountsStore } from '../store';

export type Reading = Pick<StatusEvent, 'status' | 'ts'>;

/** A store over an array; `fail` makes it behave like an unreachable or slow database. */
export function memoryStore(readings: Reading[] = [], fail?: 'unavailable' | 'slow'): CountsStore {
  const countByStatus: CountsStore['countByStatus'] = async ({ start, end }) => {
    if (fail === 'unavailable') throw Object.assign(new Error('connect ECONNREFUSED'), { kind: 'unavailable' });
    if (fail === 'slow') await new Promise((resolve) => setTimeout(resolve, 10_000).unref());
    const counts = zeroCounts();
    for (const { status, ts } of readings) if (ts >= start && ts < end) counts[`${status as Status}`] += 1;
    return counts;
  };
  return {
    countByStatus,
    series: async (range, stepMs, options) =>
      Promise.all(seriesPoints(range, stepMs).map(async (point) => ({ start: point.start, counts: await countByStatus(point, options) }))),
    ping: async () => fail === undefined,
    classifyError: (error) => ((error as { kind?: string }).kind === 'unavailable' ? 'unavailable' : 'other'),
  };
}
