import type { StatusEvent } from '@tally/contract';
import { encode, type Delivery } from '@tally/messaging';
import type { InsertResult } from '@tally/store';
import { describe, expect, it } from 'vitest';
import { createBatchHandler, type BatchHandlerOptions } from './batch-handler';

const RECEIVED_AT = new Date('2026-11-29T12:00:00Z');

function delivery(body: string | Buffer, routingKey = 'status'): Delivery {
  return { body: Buffer.from(body), exchange: 'amq.topic', routingKey, deliveryTag: 1, redelivered: false, headers: {} };
}

const valid = (id: string, status = 3, ts = '2026-11-29T11:59:00Z') =>
  delivery(encode({ id, status: status as 3, ts: new Date(ts) }));

/** A handler over fakes that record what it asked for; `results` answers each insert. */
function handlerWith(overrides: Partial<BatchHandlerOptions> & { results?: (events: readonly StatusEvent[]) => InsertResult[] } = {}) {
  const inserted: StatusEvent[][] = [];
  const deadLettered: { message: Delivery; reason: string }[] = [];
  const counted = { stored: 0, duplicates: 0, deadLettered: {} as Record<string, number> };
  const handle = createBatchHandler({
    insert: async (events) => {
      inserted.push([...events]);
      return overrides.results?.(events) ?? events.map(() => ({ stored: true, duplicate: false }));
    },
    deadLetter: async (message, reason) => void deadLettered.push({ message, reason }),
    stats: {
      stored: (duplicate) => {
        counted.stored++;
        if (duplicate) counted.duplicates++;
      },
      deadLettered: (reason) => void (counted.deadLettered[reason] = (counted.deadLettered[reason] ?? 0) + 1),
    },
    now: () => RECEIVED_AT,
    ...overrides,
  });
  return { handle, inserted, deadLettered, counted };
}

describe('the batch handler', () => {
  it('announces the readings stored (not those refused), and acknowledges the batch when announcing throws', async () => {
    const announced: string[][] = [];
    const ids = ['0190a1b2-0000-7000-8000-00000000000a', '0190a1b2-0000-7000-8000-00000000000b'];
    const refuseSecond = (events: readonly StatusEvent[]) => events.map((_, i) => (i === 0 ? { stored: true as const, duplicate: false } : { stored: false as const, reason: 'refused' }));
    const { handle } = handlerWith({ results: refuseSecond, onStored: (events) => void announced.push(events.map((event) => event._id)) });
    expect(await handle([valid(ids[0] as string), valid(ids[1] as string), delivery('not json')])).toEqual([]);
    expect(announced).toEqual([[ids[0]]]);

    const failing = handlerWith({
      onStored: () => {
        throw new Error('broker gone');
      },
    });
    expect(await failing.handle([valid(ids[0] as string)])).toEqual([]);
    expect(failing.counted.stored).toBe(1);
  });

  it('stores every valid reading once, with its id, status and ts, in delivery order', async () => {
    const { handle, inserted, counted } = handlerWith();
    const ids = ['0190a1b2-0000-7000-8000-000000000001', '0190a1b2-0000-7000-8000-000000000002'];
    expect(await handle([valid(ids[0] as string, 1), valid(ids[1] as string, 6)])).toEqual([]);
    expect(inserted).toEqual([
      [
        { _id: ids[0], status: 1, ts: new Date('2026-11-29T11:59:00Z'), receivedAt: RECEIVED_AT },
        { _id: ids[1], status: 6, ts: new Date('2026-11-29T11:59:00Z'), receivedAt: RECEIVED_AT },
      ],
    ]);
    expect(counted).toEqual({ stored: 2, duplicates: 0, deadLettered: {} });
  });

  it('gives a reading without ts the time it was received, and one without id an id from its content and source', async () => {
    const { handle, inserted } = handlerWith();
    await handle([delivery('{"status": 2}', 'status.device-7'), delivery('{"status": 2}', 'status.device-8')]);
    const [first, second] = inserted[0] as StatusEvent[];
    expect(first).toMatchObject({ status: 2, ts: RECEIVED_AT });
    expect(first?._id).not.toBe(second?._id);
  });

  it('stores the device from the routing key or the body, and none when neither names one', async () => {
    const { handle, inserted } = handlerWith();
    await handle([
      delivery('{"status": 1}', 'status.pump.17'),
      delivery('{"status": 1, "device": "pump-18"}'),
      delivery('{"status": 1, "device": "pump-19"}', 'status.pump-19'),
      delivery('{"status": 1}'),
    ]);
    expect(inserted[0]?.map((event) => event.device)).toEqual(['pump.17', 'pump-18', 'pump-19', undefined]);
    expect('device' in (inserted[0]?.[3] as StatusEvent)).toBe(false);
  });

  it('stores three devices’ equal readings without id on the shared topic as three', async () => {
    const { handle, inserted } = handlerWith();
    const ts = '2026-11-29T11:59:00.123Z';
    await handle(['a', 'b', 'c'].map((device) => delivery(`{"status": 4, "ts": "${ts}", "device": "${device}"}`)));
    expect(new Set(inserted[0]?.map((event) => event._id)).size).toBe(3);
  });

  it('dead-letters a device conflict and a bad device with their reasons, and stores the rest', async () => {
    const { handle, inserted, deadLettered, counted } = handlerWith();
    const conflict = delivery('{"status": 1, "device": "pump-18"}', 'status.pump-17');
    const badKey = delivery('{"status": 1}', 'status.pump 17');
    const badField = delivery('{"status": 1, "device": "pump/17"}');
    expect(await handle([conflict, badKey, delivery('{"status": 1}', 'status.pump-17'), badField])).toEqual([]);
    expect(inserted[0]).toHaveLength(1);
    expect(deadLettered).toEqual([
      { message: conflict, reason: 'device_conflict: the routing key names device "pump-17", the body "pump-18"' },
      { message: badKey, reason: 'invalid_device: routing key device: expected 1 to 128 characters of A-Z a-z 0-9 . _ : -, got "pump 17"' },
      { message: badField, reason: 'invalid_device: device: expected 1 to 128 characters of A-Z a-z 0-9 . _ : -, got "pump/17"' },
    ]);
    expect(counted.deadLettered).toEqual({ device_conflict: 1, invalid_device: 2 });
  });

  it('dead-letters what cannot be decoded, with its reason, and stores the rest', async () => {
    const { handle, inserted, deadLettered, counted } = handlerWith();
    const notJson = delivery('{"status": 3');
    const badStatus = delivery('{"status": 9}');
    expect(await handle([notJson, valid('0190a1b2-0000-7000-8000-000000000003'), badStatus])).toEqual([]);
    expect(inserted[0]).toHaveLength(1);
    expect(deadLettered.map(({ message, reason }) => [message, reason.split(':')[0]])).toEqual([
      [notJson, 'invalid_json'],
      [badStatus, 'invalid_schema'],
    ]);
    expect(counted.deadLettered).toEqual({ invalid_json: 1, invalid_schema: 1 });
  });

  it('counts duplicates, and dead-letters a document the store refuses as write_error', async () => {
    const refused = valid('0190a1b2-0000-7000-8000-000000000005');
    const { handle, deadLettered, counted } = handlerWith({
      results: () => [
        { stored: true, duplicate: true },
        { stored: false, reason: 'document too large' },
      ],
    });
    await handle([valid('0190a1b2-0000-7000-8000-000000000004'), refused]);
    expect(counted).toEqual({ stored: 1, duplicates: 1, deadLettered: { write_error: 1 } });
    expect(deadLettered).toEqual([{ message: refused, reason: 'write_error: document too large' }]);
  });

  it('returns only the messages it could not dead-letter, and says once when dead-lettering fails and recovers', async () => {
    const states: boolean[] = [];
    let brokerUp = false;
    const { handle, inserted } = handlerWith({
      deadLetter: async () => {
        if (!brokerUp) throw new Error('channel closed');
      },
      onDeadLetterFailing: (failing) => states.push(failing),
    });
    const poison = [delivery('nope'), delivery('[]')];
    expect(await handle([...poison, valid('0190a1b2-0000-7000-8000-000000000006')])).toEqual(poison);
    expect(inserted[0]).toHaveLength(1);
    brokerUp = true;
    expect(await handle(poison)).toEqual([]);
    expect(states).toEqual([true, false]);
  });

  it('writes nothing when no message of the batch is a reading', async () => {
    const { handle, inserted } = handlerWith();
    await handle([delivery('')]);
    expect(inserted).toEqual([]);
  });

  it('rejects when the write rejects, so that the whole batch goes back to the queue', async () => {
    const { handle } = handlerWith({ insert: () => Promise.reject(new Error('stopped')) });
    await expect(handle([valid('0190a1b2-0000-7000-8000-000000000007')])).rejects.toThrow('stopped');
  });
});
