import { createTestVhost, waitForDevstack, type TestVhost } from '@tally/devstack';
import type { Connection } from 'rabbitmq-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAmqpConnection } from './connection';
import { createBatchConsumer } from './batch-consumer';
import { createReadingPublisher, type Transport } from './publisher';
import { deviceFromRoutingKey, type Reading } from '@tally/contract';
import mqtt from 'mqtt';
import { decode, randomReading, type RandomReading } from './reading';
import { ensureTopology, STATUS_QUEUE } from './topology';

let vhost: TestVhost;
let connection: Connection;

beforeEach(async () => {
  vhost = await createTestVhost(await waitForDevstack(), 'messaging');
  connection = createAmqpConnection({ url: vhost.amqpUrl, connectionName: 'tally-messaging-test' });
});

afterEach(async () => {
  await connection.close();
  await vhost.dispose();
});

function readingsFrom(start: number, count: number): RandomReading[] {
  return Array.from({ length: count }, (_, i) => randomReading(new Date(start + i * 1000)));
}

async function queueDepth(queue: string): Promise<number> {
  const { messageCount } = await connection.queueDeclare({ queue, passive: true });
  return messageCount;
}

/** Consumes `count` messages from tally.status, acking each, and returns their decoded readings. */
async function consume(count: number, routingKeys: string[] = []): Promise<Reading[]> {
  const received: Reading[] = [];
  const consumer = createBatchConsumer({
    url: vhost.amqpUrl,
    connectionName: 'tally-publisher-test-consumer',
    prefetch: 10,
    batchSize: 10,
    maxWaitMs: 10,
    concurrency: 1,
    handleBatch: async (messages) => {
      for (const message of messages) {
        const result = decode(message.body);
        if (!result.ok) throw new Error(`undecodable message: ${result.detail}`);
        received.push(result.reading);
        routingKeys.push(message.routingKey);
      }
    },
  });
  try {
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(count);
  } finally {
    await consumer.close();
  }
  return received;
}

describe.each<Transport>(['mqtt', 'amqp'])('publishing over %s', (transport) => {
  it('publishes a device’s reading on its topic, which names the device as published', async () => {
    const publisher = createReadingPublisher(
      transport === 'mqtt'
        ? { transport, connection, mqttUrl: vhost.mqttUrl, clientId: `test-${vhost.name}` }
        : { transport, connection },
    );
    const sent = ['pump-17', 'pump.17', 'site:3_a'].map((device, i) => randomReading(new Date(Date.UTC(2026, 4, 1) + i), device));
    try {
      for (const reading of sent) await publisher.publish(reading);
    } finally {
      await publisher.close();
    }
    const keys: string[] = [];
    expect(await consume(3, keys)).toEqual(sent);
    expect(keys).toEqual(['status.pump-17', 'status.pump.17', 'status.site:3_a']);
    expect(keys.map((key) => deviceFromRoutingKey(key))).toEqual(sent.map(({ device }) => ({ ok: true, device })));
  });


  it('lands every reading on tally.status, before any consumer exists, in order and intact', async () => {
    const publisher = createReadingPublisher(
      transport === 'mqtt'
        ? { transport, connection, mqttUrl: vhost.mqttUrl, clientId: `test-${vhost.name}` }
        : { transport, connection },
    );
    const sent = readingsFrom(Date.parse('2026-05-01T00:00:00Z'), 50);
    try {
      for (const reading of sent) await publisher.publish(reading);
    } finally {
      await publisher.close();
    }

    await expect.poll(() => queueDepth(STATUS_QUEUE)).toBe(50);
    expect(await consume(50)).toEqual(sent);
    expect(await queueDepth(STATUS_QUEUE)).toBe(0);
  });
});

describe('an MQTT topic of deeper levels', () => {
  it('arrives with its levels joined by dots, as a dotted device id does (RabbitMQ’s MQTT plugin)', async () => {
    // The queue first: an MQTT publish that no queue takes is acknowledged and lost.
    await ensureTopology(connection);
    const client = await mqtt.connectAsync(vhost.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    try {
      await client.publishAsync('status/pump/17', '{"status":1}', { qos: 1 });
      await client.publishAsync('status/pump.17', '{"status":2}', { qos: 1 });
    } finally {
      await client.endAsync();
    }
    const keys: string[] = [];
    await consume(2, keys);
    expect(keys).toEqual(['status.pump.17', 'status.pump.17']);
  });
});
