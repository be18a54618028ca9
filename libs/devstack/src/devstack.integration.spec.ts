import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { connectAsync } from 'mqtt';
import { Connection } from 'rabbitmq-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevstackUrls } from './services';
import { waitForDevstack } from './state';

let urls: DevstackUrls;

beforeAll(async () => {
  urls = await waitForDevstack();
});

describe('RabbitMQ', () => {
  let rabbit: Connection;

  beforeAll(() => {
    rabbit = new Connection({ url: urls.amqpUrl, noDelay: true, retryHigh: 1000 });
  });

  afterAll(async () => {
    await rabbit.close();
  });

  it('routes an MQTT publish to an AMQP queue bound to amq.topic', async () => {
    const tag = randomUUID();
    const bodies: unknown[] = [];
    const consumer = rabbit.createConsumer(
      {
        queue: `devstack-test-${tag}`,
        queueOptions: { exclusive: true },
        queueBindings: [{ exchange: 'amq.topic', routingKey: `devstack-test.${tag}` }],
        noAck: true,
      },
      (message) => void bodies.push(message.body),
    );
    await new Promise((resolve) => consumer.once('ready', resolve));

    const mqttClient = await connectAsync(urls.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    try {
      await mqttClient.publishAsync(`devstack-test/${tag}`, JSON.stringify({ status: 3, tag }), { qos: 1 });
    } finally {
      await mqttClient.endAsync();
    }

    await expect.poll(() => bodies.length, { timeout: 5000 }).toBe(1);
    await consumer.close();
    expect(Buffer.isBuffer(bodies[0])).toBe(true);
    expect(JSON.parse(String(bodies[0]))).toEqual({ status: 3, tag });
  });

  it('serves the management API', async () => {
    expect(urls.managementUrl).toBeDefined();
    const { origin, username, password } = new URL(`${urls.managementUrl}/api/overview`);
    const response = await fetch(`${origin}/api/overview`, {
      headers: { authorization: `Basic ${btoa(`${username}:${password}`)}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ rabbitmq_version: expect.any(String) });
  });
});

describe('MongoDB-wire server', () => {
  let client: MongoClient;
  const database = `devstack_test_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    client = await MongoClient.connect(urls.mongodbUri, { serverSelectionTimeoutMS: 5000 });
  });

  afterAll(async () => {
    await client.db(database).dropDatabase();
    await client.close();
  });

  it('answers a $match/$group aggregate over inserted documents', async () => {
    const base = Date.parse('2026-01-01T00:00:00Z');
    const documents = Array.from({ length: 70 }, (_, i) => ({
      _id: `reading-${i}`,
      status: i % 7,
      ts: new Date(base + i * 1000),
    }));
    const events = client.db(database).collection<{ _id: string; status: number; ts: Date }>('events');
    await events.insertMany(documents);

    const start = new Date(base + 10_000);
    const end = new Date(base + 40_000);
    const groups = await events
      .aggregate<{ _id: number; count: number }>([
        { $match: { ts: { $gte: start, $lt: end } } },
        { $group: { _id: '$status', count: { $sum: 1 } } },
      ])
      .toArray();

    const expected = new Map<number, number>();
    for (const d of documents.filter((d) => d.ts >= start && d.ts < end)) {
      expected.set(d.status, (expected.get(d.status) ?? 0) + 1);
    }
    expect(new Map(groups.map((g) => [g._id, g.count]))).toEqual(expected);
    expect(groups.reduce((sum, g) => sum + g.count, 0)).toBe(30);
  });
});
