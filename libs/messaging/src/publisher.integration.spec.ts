import { createTestVhost, waitForDevstack, type TestVhost } from '@tally/devstack';
import type { Connection } from 'rabbitmq-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAmqpConnection } from './connection';
import { createBatchConsumer } from './batch-consumer';
import { createReadingPublisher, type Transport } from './publisher';
import { deviceFromRoutingKey, type Reading } from '@tally/contract';
import mqtt from 'mqtt';
import { decode, randomReading, type RandomReading } from './reading';
import { ensureTopology, partitionQueues } from './topology';

const PARTITIONS = 3;

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

const byId = (a: Reading, b: Reading) => (a.id as string).localeCompare(b.id as string);

function readingsFrom(start: number, count: number): RandomReading[] {
  return Array.from({ length: count }, (_, i) => randomReading(new Date(start + i * 1000)));
}

/** Messages waiting in every partition. */
async function queueDepth(): Promise<number> {
  let depth = 0;
  for (const queue of partitionQueues(PARTITIONS)) depth += (await connection.queueDeclare({ queue, passive: true })).messageCount;
  return depth;
}

/** Takes every message of each partition (basic.get), as decoded readings, partition by partition. */
async function takePartitions(): Promise<Reading[][]> {
  const channel = await connection.acquire();
  try {
    const partitions: Reading[][] = [];
    for (const queue of partitionQueues(PARTITIONS)) {
      const readings: Reading[] = [];
      for (let message = await channel.basicGet({ queue, noAck: true }); message; message = await channel.basicGet({ queue, noAck: true })) {
        // rabbitmq-client parses an application/json body (AMQP's); MQTT's comes as bytes.
        const body = Buffer.isBuffer(message.body) ? message.body : Buffer.from(JSON.stringify(message.body));
        const result = decode(body);
        if (!result.ok) throw new Error(`undecodable message: ${result.detail}`);
        readings.push(result.reading);
      }
      partitions.push(readings);
    }
    return partitions;
  } finally {
    await channel.close();
  }
}

/** Consumes `count` messages from the partitions, acking each, and returns their decoded readings. */
async function consume(count: number, routingKeys: string[] = []): Promise<Reading[]> {
  const received: Reading[] = [];
  const consumer = createBatchConsumer({
    url: vhost.amqpUrl,
    connectionName: 'tally-publisher-test-consumer',
    partitions: PARTITIONS,
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
        ? { transport, connection, partitions: PARTITIONS, mqttUrl: vhost.mqttUrl, clientId: `test-${vhost.name}` }
        : { transport, connection, partitions: PARTITIONS },
    );
    const sent = ['pump-17', 'pump.17', 'site:3_a'].map((device, i) => randomReading(new Date(Date.UTC(2026, 4, 1) + i), device));
    try {
      for (const reading of sent) await publisher.publish(reading);
    } finally {
      await publisher.close();
    }
    const keys: string[] = [];
    // Each device's partition is its own: the three may come in any order.
    const received = await consume(3, keys);
    expect(received.toSorted(byId)).toEqual(sent.toSorted(byId));
    expect(keys.toSorted()).toEqual(['status.pump-17', 'status.pump.17', 'status.site:3_a']);
    expect(keys.map((key) => deviceFromRoutingKey(key))).toEqual(received.map(({ device }) => ({ ok: true, device })));
  });

  it('spreads a fleet over the partitions by device: each device’s readings in one partition, in order; those without a device together', async () => {
    const publisher = createReadingPublisher(
      transport === 'mqtt'
        ? { transport, connection, partitions: PARTITIONS, mqttUrl: vhost.mqttUrl, clientId: `test-${vhost.name}` }
        : { transport, connection, partitions: PARTITIONS },
    );
    const devices = Array.from({ length: 12 }, (_, i) => `pump-${i}`);
    const sent = Array.from({ length: 60 }, (_, i) => randomReading(new Date(Date.UTC(2026, 4, 1) + i * 1000), i % 13 === 12 ? undefined : devices[i % 13]));
    try {
      for (const reading of sent) await publisher.publish(reading);
    } finally {
      await publisher.close();
    }
    await expect.poll(() => queueDepth()).toBe(60);
    const partitions = await takePartitions();
    expect(partitions.filter((readings) => readings.length > 0).length, 'more than one partition is used').toBeGreaterThan(1);
    for (const device of [...devices, undefined]) {
      const holding = partitions.filter((readings) => readings.some((reading) => reading.device === device));
      expect(holding, `the readings of ${device ?? 'no device'} are in one partition`).toHaveLength(1);
      expect((holding[0] as Reading[]).filter((reading) => reading.device === device), 'in order').toEqual(sent.filter((reading) => reading.device === device));
    }
  });


  it('lands every reading without a device in one partition, before any consumer exists, in order and intact', async () => {
    const publisher = createReadingPublisher(
      transport === 'mqtt'
        ? { transport, connection, partitions: PARTITIONS, mqttUrl: vhost.mqttUrl, clientId: `test-${vhost.name}` }
        : { transport, connection, partitions: PARTITIONS },
    );
    const sent = readingsFrom(Date.parse('2026-05-01T00:00:00Z'), 50);
    try {
      for (const reading of sent) await publisher.publish(reading);
    } finally {
      await publisher.close();
    }

    await expect.poll(() => queueDepth()).toBe(50);
    expect(await consume(50)).toEqual(sent);
    expect(await queueDepth()).toBe(0);
  });
});

describe('an MQTT topic of deeper levels', () => {
  it('arrives with its levels joined by dots, as a dotted device id does (RabbitMQ’s MQTT plugin)', async () => {
    // The queue first: an MQTT publish that no queue takes is acknowledged and lost.
    await ensureTopology(connection, PARTITIONS);
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
