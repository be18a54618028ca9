import type { RunningApp } from '@tally/devstack';
import { DEAD_LETTER_QUEUE, partitionQueues, type RandomReading } from '@tally/messaging';
import { describe, expect, it } from 'vitest';
import { processorTestbed, readings } from './test/testbed';

const bed = processorTestbed();
const { startProcessor, stopProcessor, publish, depth, pending, expectStoredExactly, running } = bed;

describe('the processor, stopped and scaled', () => {
  it('shares the partitions between two processors with an exact count', async () => {
    const sent = readings(5000, undefined, 50);
    await Promise.all([startProcessor(), startProcessor()]);
    await publish(sent);
    await expectStoredExactly(sent, 30_000);
    const [a, b] = running;
    await Promise.all([stopProcessor(a as RunningApp), stopProcessor(b as RunningApp)]);
    const storedBy = [a, b].map((app) => (app?.lines.find((l) => l.msg === 'summary')?.['stored'] as number) ?? 0);
    expect(storedBy.reduce((sum, n) => sum + n, 0)).toBe(5000);
    expect(Math.min(...storedBy)).toBeGreaterThan(0);
  }, 90_000);

  it('changes its partition count on a running deployment, 1 → 8 → 4: nothing stranded in a retired partition, nothing stored twice', async () => {
    const fleet = (count: number, hour: number) => readings(count, Date.parse(`2026-06-01T0${hour}:00:00Z`), 40);
    const withCount = (partitions: number) => ({ TALLY_PARTITIONS: String(partitions) });
    const stored: RandomReading[] = [];
    const publishAndExpect = async (batch: RandomReading[], partitions: number) => {
      await publish(batch, 500, partitions);
      stored.push(...batch);
    };

    // 1 → 8: publishers first (readings reach partitions 1-7, which the processor at 1 does not
    // consume), then the processors: stopped, and started at the new count.
    const one = await startProcessor(withCount(1));
    await publishAndExpect(fleet(500, 1), 1);
    await expectStoredExactly(stored, 30_000);
    await publishAndExpect(fleet(1000, 2), 8);
    await stopProcessor(one);
    const eight = await Promise.all([startProcessor(withCount(8)), startProcessor(withCount(8))]);
    await publishAndExpect(fleet(500, 3), 8);
    await expectStoredExactly(stored, 30_000);

    // 8 → 4, with a backlog in the partitions to retire: the processors at 4 drain and delete them.
    await Promise.all(eight.map((app) => stopProcessor(app)));
    await publishAndExpect(fleet(1000, 4), 8);
    const stranded = await Promise.all(partitionQueues(8).slice(4).map((queue) => depth(queue)));
    expect(stranded.every((waiting) => waiting > 0), `readings wait in partitions 4-7: ${stranded.join(', ')}`).toBe(true);
    const four = await Promise.all([startProcessor(withCount(4)), startProcessor(withCount(4))]);
    await publishAndExpect(fleet(500, 5), 4);
    await expectStoredExactly(stored, 60_000);
    const exists = (queue: string) => depth(queue).then(() => true, () => false);
    await expect.poll(() => Promise.all(partitionQueues(8).map(exists)), { timeout: 20_000 }).toEqual([true, true, true, true, false, false, false, false]);
    expect(await pending(4)).toBe(0);
    expect(await depth(DEAD_LETTER_QUEUE)).toBe(0);
    await Promise.all(four.map((app) => stopProcessor(app)));
    const summaries = [one, ...eight, ...four].map((app) => app.lines.find((line) => line.msg === 'summary'));
    expect(summaries.map((summary) => summary?.['duplicates']), 'no reading was stored twice').toEqual([0, 0, 0, 0, 0]);
  }, 180_000);
});
