import { describe, expect, it } from 'vitest';
import { fleetReadings, readings } from './test/amqp';
import { tallyOf } from './checker';
import { pollUntil, Scenario, scenarioPerTest } from './test/scenario';


const perTest = scenarioPerTest();

describe('the processor, stopped abruptly', () => {
  it('loses and duplicates nothing when SIGKILLed mid-drain: every reading of 1,000 devices stored once, with its device', async () => {
    const s = perTest(await Scenario.create('faults-fleet'));
    // 12 readings per device on its routing key status.<device>, without ids: the devices' readings
    // of each second share their millisecond, so only the device tells their ids apart.
    const sent = fleetReadings(1000, 12);
    await s.stopProcessor(await s.startProcessor());
    await s.publisher.publish(sent.slice(0, 8000));

    const first = await s.startProcessor();
    const streaming = s.publisher.publish(sent.slice(8000), { window: 50 });
    expect(await pollUntil(async () => (await s.storedCount()) > 2000, 60_000, 20)).toBe(true);
    await s.kill(first);
    expect(await s.storedCount(), 'killed before it drained the queue').toBeLessThan(12_000);

    await s.startProcessor();
    await streaming;
    // The checker knows each reading by its device, ts and status: each stored once, with its device.
    await s.finish();
    const perDevice = await s.events.aggregate<{ _id: string; n: number }>([{ $group: { _id: '$device', n: { $sum: 1 } } }]).toArray();
    expect(perDevice).toHaveLength(1000);
    expect(perDevice.filter(({ n }) => n !== 12)).toEqual([]);
    // The API counts each device what was sent from it, alone and a hundred together.
    const api = await s.startApi();
    const sentBy = (devices: string[]) => tallyOf(sent.filter((reading) => devices.includes(reading.device ?? '')));
    for (const device of ['dev-0001', 'dev-0500', 'dev-1000']) {
      expect((await api.count(30_000, [device])).body, device).toEqual(sentBy([device]));
    }
    const hundred = Array.from({ length: 100 }, (_, i) => `dev-${String(i * 10 + 3).padStart(4, '0')}`);
    expect((await api.count(30_000, hundred)).body, '100 devices together').toEqual(sentBy(hundred));
  });

  it('absorbs the redelivery when the processor dies between its raw insert and the rollup update', async () => {
    const s = perTest(await Scenario.create('faults-crash'));
    await s.stopProcessor(await s.startProcessor());
    // A minute each: the crashed batch's rollup buckets are marked by its redelivery alone.
    await s.publisher.publish(readings(3000, { stepMs: 60_000 }));

    // SIGKILLs itself right after its first raw insert, before it marks the rollups and acks.
    // finish() checks the rollups too, once refreshed.
    const crashing = s.startProcessorCrashingAfterRawInsert();
    expect(await crashing.exited, 'killed by its own SIGKILL').toBeNull();
    const storedUnacked = await s.storedCount();
    expect(storedUnacked, 'one batch written before the crash').toBeGreaterThan(0);
    expect(await pollUntil(async () => (await s.amqp.pending()) === 3000, 10_000), 'nothing was acked').toBe(
      true,
    );

    const restartedAt = new Date();
    await s.startProcessor();
    const { summaries } = await s.finish();
    // What the crashed processor stored came again and was recognised by its ids. That is not
    // always what was counted above: a second batch in flight at the crash can land on the server
    // after that count. Its documents are told apart by when the crashed processor received them.
    const storedByCrashed = await s.events.countDocuments({ receivedAt: { $lt: restartedAt } });
    expect(storedByCrashed).toBeGreaterThanOrEqual(storedUnacked);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ stored: 3000, duplicates: storedByCrashed });
  });

  it('exits 0 on SIGTERM mid-stream, having acked what it stored: the restart gets no redelivery', async () => {
    const s = perTest(await Scenario.create('faults-term'));
    const first = await s.startProcessor();
    const streaming = s.publisher.publish(readings(4000), { window: 100 });
    expect(await pollUntil(async () => (await s.storedCount()) > 1000, 60_000, 20)).toBe(true);
    const firstSummary = await s.stopProcessor(first);
    const storedByFirst = await s.storedCount();
    const ackedByFirst = firstSummary['stored'] as number;
    expect(ackedByFirst).toBeGreaterThan(0);
    await streaming;

    await s.startProcessor();
    const { summaries } = await s.finish();
    // The second processor gets exactly what the first did not ack. What the first stored but
    // did not ack (none, when its shutdown writes and acks what it holds) comes back once as a
    // duplicate.
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({
      stored: s.checker.count - ackedByFirst,
      duplicates: storedByFirst - ackedByFirst,
    });
  });
});
