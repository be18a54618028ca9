import { createStatusEventStore } from '@tally/store';
import { describe, expect, it } from 'vitest';
import { processorTestbed, readings, runProcessor } from './test/testbed';

const bed = processorTestbed();
const { running, mongodbUri } = bed;

describe('a rollup rebuild stopped by SIGINT', () => {
  it('stops between two days, exits 130 naming where it stopped, and resumes from there', async () => {
    // 300 days of readings stored before rollups existed.
    const first = Date.parse('2025-06-01T00:00:00Z');
    const sent = readings(1500, first).map((r, i) => ({ ...r, ts: new Date(first + i * 17_280_000) }));
    await bed.events.insertMany(sent.map(({ id, status, ts }) => ({ _id: id, status, ts, receivedAt: ts })));
    const env = { MONGODB_URI: mongodbUri(), LOG_LEVEL: 'info' };
    const rebuild = runProcessor({ args: ['--rebuild-rollups'], env });
    running.push(rebuild);
    await rebuild.waitForLog('rebuilt a day', 60_000);
    rebuild.kill('SIGINT');
    expect(await rebuild.exited).toBe(130);
    const stopped = await rebuild.waitForLog('rebuild stopped: run again to resume', 1000);
    const done = rebuild.lines.filter((line) => line.msg === 'rebuilt a day').map((line) => line.day);
    expect(done.length).toBeGreaterThan(0);
    expect(stopped).toMatchObject({ rebuiltDownTo: done.at(-1), resume: `--rebuild-rollups --from 2025-06-01 --to ${String(done.at(-1))}` });
    const store = createStatusEventStore({ db: bed.mongo.db(bed.database) });
    expect((await store.rollups.coverage()).toISOString().slice(0, 10)).toBe(done.at(-1));

    const resumed = runProcessor({ args: ['--rebuild-rollups'], env });
    running.push(resumed);
    expect(await resumed.exited).toBe(0);
    const resumedDays = resumed.lines.filter((line) => line.msg === 'rebuilt a day').map((line) => line.day);
    expect(new Set([...done, ...resumedDays]).size).toBe(done.length + resumedDays.length);
    expect((await store.rollups.coverage()).getTime()).toBe(first);
    const all = { start: new Date(first), end: new Date(first + 400 * 86_400_000) };
    expect(await store.countByStatus(all, { timeoutMs: 10_000 })).toEqual(await store.countRawByStatus(all, { timeoutMs: 10_000 }));
  }, 180_000);
});
