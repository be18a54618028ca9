import { randomReading } from '@tally/messaging';
import { createStatusEventStore } from '@tally/store';
import { describe, expect, it } from 'vitest';
import { processorTestbed, readings, runProcessor } from './test/testbed';

const bed = processorTestbed();
const { startProcessor, publish, running, mongodbUri } = bed;

describe('the processor\'s raw retention', () => {
  it('with RAW_RETENTION, deletes older raw readings within a minute of starting; a late reading published there then counts once more', async () => {
    // An hour of readings from 5 days ago, 6 s apart, stored and counted as an earlier processor did.
    const start = Math.floor((Date.now() - 5 * 86_400_000) / 3_600_000) * 3_600_000;
    const sent = readings(600, start, 4).map((r, i) => ({ ...r, ts: new Date(start + i * 6000) }));
    const store = createStatusEventStore({ db: bed.mongo.db(bed.database) });
    await store.ensureIndexes();
    await store.insertReadings(sent.map(({ id, status, ts, device }) => ({ _id: id, status, ts, receivedAt: ts, ...(device && { device }) })));
    while ((await store.rollups.refresh({ limit: 5000 })).pending > 0);
    const hour = { start: new Date(start), end: new Date(start + 3_600_000) };
    const count = (devices?: string[]) => store.countByStatus(hour, { timeoutMs: 5000, ...(devices && { devices }) });
    const before = [await count(), await count(['dev-1'])];

    await startProcessor({ RAW_RETENTION: '2d', ROLLUP_REFRESH_INTERVAL_MS: '100' });
    await expect.poll(() => bed.events.countDocuments(), { timeout: 70_000, interval: 500 }).toBe(0);
    expect([await count(), await count(['dev-1'])]).toEqual(before);

    const late = { ...randomReading(new Date(start + 90_500), 'dev-1'), status: 4 as const };
    await publish([late]);
    const plusOne = (counts: Record<string, number> | undefined) => ({ ...counts, 4: (counts?.['4'] ?? 0) + 1 });
    // A count through its minute is a 503 catching_up until the refresher folded it in.
    await expect.poll(() => count().catch(() => undefined), { timeout: 20_000, interval: 200 }).toEqual(plusOne(before[0]));
    expect(await count(['dev-1'])).toEqual(plusOne(before[1]));

    const rebuild = runProcessor({ args: ['--rebuild-rollups', '--from', new Date(start).toISOString()], env: { MONGODB_URI: mongodbUri(), LOG_LEVEL: 'info' } });
    running.push(rebuild);
    const refused = await rebuild.waitForLog('rebuild refused: raw readings expired', 30_000);
    expect(refused['reason']).toMatch(/have expired \(RAW_RETENTION\): their rollups cannot be rebuilt; rebuild from \S+ on$/);
    expect(await rebuild.exited).toBe(1);
  }, 150_000);
});
