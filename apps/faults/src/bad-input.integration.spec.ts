import mqtt from 'mqtt';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readings, type RawMessage } from './test/amqp';
import { pollUntil, Scenario, scenarioPerTest } from './test/scenario';


const perTest = scenarioPerTest();

/** A message that can never be stored, and the start of the reason it must be dead-lettered with. */
type Poison = [reason: string, message: RawMessage];

const poison = (reason: string, body: string | Buffer, contentType?: string): Poison => [
  reason,
  { body: Buffer.isBuffer(body) ? body : Buffer.from(body), messageId: randomUUID(), contentType },
];

const POISON: Poison[] = [
  poison('invalid_json', 'not JSON'),
  poison('invalid_json', ''),
  poison('invalid_json', '{"status":3'),
  poison('invalid_json', Buffer.from([0xff, 0xfe, 0x7b, 0x00])),
  poison('invalid_json', 'not JSON either', 'application/json'),
  poison('invalid_schema: status', '{"status":7}'),
  poison('invalid_schema: status', '{"status":-1}'),
  poison('invalid_schema: status', '{"status":"3"}'),
  poison('invalid_schema: status', '{"status":3.5}'),
  poison('invalid_schema: status', '{"status":null}'),
  poison('invalid_schema: status', '{}'),
  poison('invalid_schema: status', '{"status":7}', 'application/json'),
  poison('invalid_schema: id', `{"status":3,"id":"not-a-uuid"}`),
  poison('invalid_schema: ts', '{"status":3,"ts":"yesterday"}'),
  poison('invalid_schema: ts', '{"status":3,"ts":"2026-06-01T00:00:00"}'),
  poison('invalid_device: device', '{"status":3,"device":"pump 17"}'),
  poison('invalid_device: device', `{"status":3,"device":"${'d'.repeat(129)}"}`),
  poison('invalid_schema: expected a JSON object, got null', 'null'),
  poison('invalid_schema: expected a JSON object, got an array', '[{"status":3}]'),
  poison('invalid_schema: expected a JSON object, got a number', '3'),
  poison('invalid_schema: expected a JSON object, got a string', '"{\\"status\\":3}"'),
  poison('too_large', JSON.stringify({ status: 3, pad: 'x'.repeat(4096) })),
  poison('too_large', Buffer.alloc(1024 * 1024, '{')),
];

describe('bad input', () => {
  it('dead-letters each poison message once with its reason, and stores the valid stream around them', async () => {
    const s = perTest(await Scenario.create('faults-poison'));
    await s.startProcessor();
    const valid = readings(3000);
    const withoutId = readings(300, { withId: false });
    const streaming = s.publisher.publish(valid, { window: 50 });
    for (const [i, item] of POISON.entries()) {
      await s.publisher.publishRaw([item[1]]);
      // On routing key status.device-<i>: stored with that device, which the checker knows them by.
      await s.publisher.publish(withoutId.slice(i * 10, i * 10 + 10).map((reading) => ({ ...reading, device: `device-${i}` })));
    }
    await s.publisher.publish(withoutId.slice(POISON.length * 10));
    await streaming;

    await s.finish({ deadLetters: POISON.length });
    const letters = await s.amqp.takeDeadLetters();
    const problems: string[] = [];
    for (const [reason, message] of POISON) {
      const copies = letters.filter((letter) => letter.messageId === message.messageId);
      const shown = message.body.subarray(0, 40).toString();
      if (copies.length !== 1) problems.push(`${shown}: dead-lettered ${copies.length} times`);
      else if (!String(copies[0]?.reason).startsWith(reason)) {
        problems.push(`${shown}: reason "${String(copies[0]?.reason)}", expected "${reason}..."`);
      } else if (!copies[0]?.body.equals(message.body)) problems.push(`${shown}: body changed`);
    }
    expect(problems).toEqual([]);
    expect(letters).toHaveLength(POISON.length);
  });

  it('takes a publish to an MQTT topic AMQP cannot carry out of the way: the stream around it is stored, it is dead-lettered', async () => {
    const s = perTest(await Scenario.create('faults-long-topic'));
    await s.startProcessor();
    const streaming = s.publisher.publish(readings(1000), { window: 50 });
    // Over 255 bytes: the broker takes it over MQTT, and cannot hand its routing key to an AMQP consumer.
    const body = JSON.stringify({ status: 4, ts: new Date().toISOString() });
    const client = await mqtt.connectAsync(s.env.MQTT_URL, { protocolVersion: 4, reconnectPeriod: 0 });
    await client.publishAsync(`status/${'d'.repeat(249)}`, body, { qos: 1 });
    await client.endAsync();
    await streaming;

    await s.finish({ deadLetters: 1 });
    const letters = await s.amqp.takeDeadLetters();
    expect(letters.map(({ brokerReason, body }) => ({ brokerReason, body: body.toString() }))).toEqual([{ brokerReason: 'delivery_limit', body }]);
  });

  it('stores a reading published twice, or retried after a lost confirm, once', async () => {
    const s = perTest(await Scenario.create('faults-dup'));
    await s.startProcessor();

    // The same id twice, and the same content without id twice (the processor derives its id).
    const twice = readings(500);
    const twiceWithoutId = readings(500, { withId: false });
    for (let round = 0; round < 2; round++) {
      await s.publisher.publish(twice);
      await s.publisher.publish(twiceWithoutId);
    }
    // Copies under another routing key (a device): the same id, stored once, as it came first.
    await s.publisher.publish(twice.slice(0, 100), { routingKey: 'status.device-1' });

    // A publisher whose connection drops with publishes in flight sends each unconfirmed one again:
    // the broker may hold those twice.
    const retried = readings(8000);
    const connections = await s.connections('tally-faults');
    const publishing = s.publisher.publish(retried, { window: 200 });
    const before = s.checker.count;
    expect(await pollUntil(async () => s.checker.count >= before + 1000, 30_000, 5)).toBe(true);
    expect(await s.closeConnections(connections)).toBe(1);
    await publishing;
    expect(s.publisher.retries, 'publishes in flight when the connection closed').toBeGreaterThan(0);

    const { summaries } = await s.finish();
    // Every deliberate second copy reached the processor and was absorbed as a duplicate.
    expect(summaries[0]?.['duplicates']).toBeGreaterThanOrEqual(500 + 500 + 100);
  });
});
