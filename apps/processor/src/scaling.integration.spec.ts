import type { RunningApp } from '@tally/devstack';
import { DEAD_LETTER_QUEUE, partitionQueues, type RandomReading } from '@tally/messaging';
import { describe, expect, it } from 'vitest';
import { processorTestbed, readings } from './test/testbed';

const bed = processorTestbed();
const { startProcessor, stopProcessor, publish, depth, pending, expectStoredExactly, running } = bed;

describe('the processor, killed, stopped and scaled', () => {
  it('loses nothing and stores nothing twice when SIGKILLed mid-drain of 20,000 readings', async () => {
    const sent = readings(20_000);
    await publish(sent);
    const first = await startProcessor();
    await expect.poll(() => bed.events.countDocuments(), { timeout: 30_000, interval: 50 }).toBeGreaterThan(2000);
    first.kill('SIGKILL');
    await first.exited;
    running.splice(running.indexOf(first), 1);
    expect(await bed.events.countDocuments()).toBeLessThan(20_000);

    await startProcessor();
    await expectStoredExactly(sent, 90_000);
    await expect.poll(() => pending()).toBe(0);
  }, 180_000);

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

  it('acks what it stored before exiting on SIGTERM, so a restart gets no redelivery', async () => {
    const sent = readings(6000);
    const first = await startProcessor();
    const publishing = publish(sent, 100);
    await expect.poll(() => bed.events.countDocuments(), { timeout: 30_000, interval: 20 }).toBeGreaterThan(500);
    await stopProcessor(first);
    const storedBefore = await bed.events.countDocuments();
    // Acked by the first: every message whose handler finished (its write acknowledged).
    const acked = (first.lines.find((line) => line.msg === 'summary')?.['stored'] as number) ?? NaN;
    await publishing;

    const second = await startProcessor();
    await expectStoredExactly(sent, 30_000);
    await stopProcessor(second);
    // The second gets only what the first did not ack. Normally that is what the first did not
    // store either; a write the first saw time out (the server finished it later) comes back as a
    // duplicate, once, and is absorbed.
    const summary = second.lines.find((line) => line.msg === 'summary');
    expect(summary).toMatchObject({ stored: sent.length - acked, duplicates: storedBefore - acked });
    expect(acked).toBeGreaterThan(0);
  }, 90_000);
});
