import type { RandomReading } from '@tally/messaging';
import { STATUSES } from '@tally/contract';
import { createStatusEventStore } from '@tally/store';
import { describe, expect, it } from 'vitest';
import { processorTestbed, readings, runProcessor } from './test/testbed';

const bed = processorTestbed();
const { startProcessor, publish, expectStoredExactly, running, mongodbUri } = bed;

describe('the processor\'s rollups', () => {
  /** Counts per status of `sent` in `[start, end)`, as the rollups must give them. */
  const expected = (sent: readonly RandomReading[], start: number, end: number) => {
    const counts: Record<string, number> = Object.fromEntries(STATUSES.map((status) => [status, 0]));
    for (const { status, ts } of sent) if (ts.getTime() >= start && ts.getTime() < end) counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  };

  it('refreshes the buckets it wrote, and the rollups then count each reading exactly', async () => {
    const sent = readings(3000, Date.parse('2026-06-01T00:00:00Z')).map((r, i) => ({ ...r, ts: new Date(r.ts.getTime() + i * 1000) }));
    await startProcessor({ ROLLUP_REFRESH_INTERVAL_MS: '100' });
    await publish(sent);
    await expectStoredExactly(sent, 30_000);
    const minutes = bed.mongo.db(bed.database).collection<{ dirty: boolean }>('status_rollups_minute');
    await expect.poll(() => minutes.countDocuments({ dirty: true }), { timeout: 20_000 }).toBe(0);
    const store = createStatusEventStore({ db: bed.mongo.db(bed.database) });
    const start = Date.parse('2026-06-01T00:10:30Z');
    const end = Date.parse('2026-06-01T00:47:00.500Z');
    expect(await store.countByStatus({ start: new Date(start), end: new Date(end) }, { timeoutMs: 5000 })).toEqual(expected(sent, start, end));
    expect(await minutes.countDocuments()).toBe(Math.ceil((3000 * 10 + 3000 * 1000) / 60_000));
  }, 90_000);

  it('counts exactly after a targeted rebuild short of where the rollups start, which a plain rebuild then completes', async () => {
    const first = Date.parse('2026-01-01T00:00:00Z');
    const sent = readings(2000, first).map((r, i) => ({ ...r, ts: new Date(first + i * 3_600_000) }));
    await bed.events.insertMany(sent.map(({ id, status, ts }) => ({ _id: id, status, ts, receivedAt: ts })));
    const env = { MONGODB_URI: mongodbUri(), LOG_LEVEL: 'info' };
    const run = async (...args: string[]) => {
      const app = runProcessor({ args: ['--rebuild-rollups', ...args], env });
      running.push(app);
      expect(await app.exited).toBe(0);
      return app;
    };
    const store = createStatusEventStore({ db: bed.mongo.db(bed.database) });
    const all = { start: new Date(first), end: new Date(first + 100 * 86_400_000) };
    const expectExact = async () => {
      // A store of its own reads coverage afresh.
      const reader = createStatusEventStore({ db: bed.mongo.db(bed.database) });
      expect(await reader.countByStatus(all, { timeoutMs: 10_000 })).toEqual(expected(sent, all.start.getTime(), all.end.getTime()));
      const january = { start: new Date(first + 3 * 3_600_000), end: new Date(Date.parse('2026-02-10T00:00:00Z')) };
      expect(await reader.countByStatus(january, { timeoutMs: 10_000 })).toEqual(
        expected(sent, january.start.getTime(), january.end.getTime()),
      );
    };

    await run('--from', '2026-01-01', '--to', '2026-02-01');
    await run('--from', '2020-01-01', '--to', '2020-01-02');
    await expectExact();
    const plain = await run();
    expect(plain.lines.some((line) => line.msg === 'rollups rebuilt')).toBe(true);
    expect((await store.rollups.coverage()).getTime()).toBe(first);
    await expectExact();
  }, 180_000);

  it('rebuilds them for readings stored before rollups existed, with --rebuild-rollups', async () => {
    const sent = readings(2000, Date.parse('2026-05-01T00:00:00Z')).map((r, i) => ({ ...r, ts: new Date(r.ts.getTime() + i * 600_000) }));
    await bed.events.insertMany(sent.map(({ id, status, ts }) => ({ _id: id, status, ts, receivedAt: ts })));
    const rebuild = runProcessor({ args: ['--rebuild-rollups'], env: { MONGODB_URI: mongodbUri(), LOG_LEVEL: 'info' } });
    running.push(rebuild);
    await rebuild.waitForLog('rollups rebuilt', 90_000);
    expect(await rebuild.exited).toBe(0);
    const store = createStatusEventStore({ db: bed.mongo.db(bed.database) });
    expect((await store.rollups.coverage()).getTime()).toBe(Date.parse('2026-05-01T00:00:00Z'));
    const minutes = bed.mongo.db(bed.database).collection('status_rollups_minute');
    expect(await minutes.countDocuments({ dirty: false })).toBe(2000);
    const start = Date.parse('2026-05-03T07:00:00Z');
    const end = Date.parse('2026-05-12T00:00:00Z');
    expect(await store.countByStatus({ start: new Date(start), end: new Date(end) }, { timeoutMs: 5000 })).toEqual(expected(sent, start, end));
  }, 120_000);
});
