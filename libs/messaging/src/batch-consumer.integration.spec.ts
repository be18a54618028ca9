import { createTestVhost, waitForDevstack, type TestVhost } from '@tally/devstack';
import type { Connection } from 'rabbitmq-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchConsumer, type BatchConsumer, type BatchConsumerOptions } from './batch-consumer';
import type { Delivery } from './delivery';
import { createAmqpConnection } from './connection';
import { createReadingPublisher } from './publisher';
import { decode, randomReading } from './reading';
import mqtt from 'mqtt';
import {
  BROKER_DEAD_LETTER_ROUTING_KEY,
  DEAD_LETTER_EXCHANGE,
  DEAD_LETTER_QUEUE,
  ensureTopology,
  partitionQueue,
  partitionQueues,
  READINGS_EXCHANGE,
  UNPARTITIONED_QUEUE,
} from './topology';

const CONSUMER_CONNECTION = 'tally-batch-consumer-test';
/** Readings without a device all land in one of them (and keep their order); a fleet's spread. */
const PARTITIONS = 3;

let vhost: TestVhost;
let connection: Connection;
const consumers: BatchConsumer[] = [];

beforeEach(async () => {
  vhost = await createTestVhost(await waitForDevstack(), 'messaging');
  connection = createAmqpConnection({ url: vhost.amqpUrl, connectionName: 'tally-batch-consumer-test-publisher' });
  connection.on('error', () => undefined); // a forced close is reported here, then it reconnects
});

afterEach(async () => {
  for (const consumer of consumers.splice(0)) await consumer.close();
  await connection.close();
  await vhost.dispose();
});

/**
 * Publishes `count` readings with confirms (of `devices` devices in turn, else without one);
 * unless a consumer is running, waits to see them queued.
 */
async function publish(
  count: number,
  { consumerRunning = false, devices = 0, partitions = PARTITIONS } = {},
): Promise<string[]> {
  const publisher = createReadingPublisher({ transport: 'amqp', connection, partitions });
  const readings = Array.from({ length: count }, (_, i) =>
    randomReading(new Date(Date.UTC(2026, 4, 1) + i * 1000), devices > 0 ? `dev-${i % devices}` : undefined),
  );
  await Promise.all(readings.map((reading) => publisher.publish(reading)));
  await publisher.close();
  if (!consumerRunning) await expect.poll(() => queueDepth(partitions)).toBe(count);
  return readings.map((reading) => reading.id);
}

/** Messages waiting in the first `partitions` partitions. */
async function queueDepth(partitions = PARTITIONS): Promise<number> {
  const depths = await Promise.all(partitionQueues(partitions).map((queue) => depthOf(queue)));
  return depths.reduce((sum, depth) => sum + depth, 0);
}

/** Consumers of the first `partitions` partitions, as the queues count them. */
async function consumerCount(partitions = PARTITIONS): Promise<number> {
  const counts = await Promise.all(partitionQueues(partitions).map(async (queue) => (await connection.queueDeclare({ queue, passive: true })).consumerCount));
  return counts.reduce((sum, count) => sum + count, 0);
}

async function depthOf(queue: string): Promise<number> {
  const { messageCount } = await connection.queueDeclare({ queue, passive: true });
  return messageCount;
}

async function exists(queue: string): Promise<boolean> {
  return depthOf(queue).then(
    () => true,
    () => false,
  );
}

function idsOf(messages: readonly Delivery[]): string[] {
  return messages.map((message) => {
    const decoded = decode(message.body);
    if (!decoded.ok) throw new Error(decoded.detail);
    return decoded.reading.id as string;
  });
}

function consume(options: Omit<BatchConsumerOptions, 'url' | 'connectionName' | 'partitions'> & { partitions?: number }): BatchConsumer {
  const consumer = createBatchConsumer({ url: vhost.amqpUrl, connectionName: CONSUMER_CONNECTION, partitions: PARTITIONS, ...options });
  consumer.on('error', () => undefined);
  consumers.push(consumer);
  return consumer;
}

describe('BatchConsumer', () => {
  it('hands over full batches in delivery order, a partial one after maxWaitMs, and acks them all', async () => {
    const sent = await publish(25);
    const batches: string[][] = [];
    const consumer = consume({
      prefetch: 100,
      batchSize: 10,
      maxWaitMs: 200,
      handleBatch: async (messages) => void batches.push(idsOf(messages)),
    });
    await expect.poll(() => batches.flat().length).toBe(25);
    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 5]);
    expect(batches.flat()).toEqual(sent);
    expect(consumer.consuming).toBe(true);

    await consumer.close();
    expect(consumer.consuming).toBe(false);
    expect(await queueDepth()).toBe(0);
  });

  it('returns to the queue only the messages a batch hands back, and acks the others', async () => {
    const sent = await publish(10);
    const deliveries: string[] = [];
    const consumer = consume({
      prefetch: 100,
      batchSize: 10,
      maxWaitMs: 200,
      concurrency: 1,
      handleBatch: async (messages) => {
        deliveries.push(...idsOf(messages));
        // The first batch hands back its 3rd and last messages; redeliveries are settled.
        return messages[0]?.redelivered ? [] : [messages[2], messages[9]].filter((m) => m !== undefined);
      },
    });
    await expect.poll(() => deliveries.length).toBe(12);
    expect(deliveries.slice(10).sort()).toEqual([sent[2], sent[9]].sort());
    await consumer.close();
    expect(await queueDepth()).toBe(0);
  });

  it('acks the batches it is handling when closed, before its connection closes', async () => {
    const sent = await publish(20);
    const handled: string[] = [];
    let started = 0;
    const consumer = consume({
      prefetch: 20,
      batchSize: 10,
      maxWaitMs: 1000,
      handleBatch: async (messages) => {
        started++;
        await new Promise((resolve) => setTimeout(resolve, 300));
        handled.push(...idsOf(messages));
      },
    });
    await expect.poll(() => started).toBe(2);
    await consumer.close();
    expect(handled).toEqual(sent);
    // The broker settles the acks, and returns what the closed channel held, in its own time: a look
    // right after close can read 0 before lost acks' messages come back. Its consumers are gone
    // from the queues once it is done (a cancelled one stays while it holds messages).
    await expect.poll(() => consumerCount()).toBe(0);
    expect(await queueDepth()).toBe(0);
  });

  it('acks the batch it is handling when closed while it still subscribes to the other partitions', async () => {
    // Sixteen partitions, subscribed one after another: the readings' partition is consumed, and
    // their batch handed over, while the partitions after it are not subscribed to yet.
    const partitions = 16;
    const sent = await publish(10, { partitions });
    const handled: string[] = [];
    let closed: Promise<void> | undefined;
    const consumer = consume({
      partitions,
      prefetch: 10,
      batchSize: 10,
      maxWaitMs: 1000,
      handleBatch: async (messages) => {
        closed ??= consumer.close();
        await new Promise((resolve) => setTimeout(resolve, 300));
        handled.push(...idsOf(messages));
      },
    });
    await expect.poll(() => closed !== undefined, { timeout: 30_000 }).toBe(true);
    await closed;
    expect(handled).toEqual(sent);
    await expect.poll(() => consumerCount(partitions)).toBe(0);
    expect(await queueDepth(partitions)).toBe(0);
  });

  it('holds the ack of a batch that settled early until the batches delivered before it settle', async () => {
    const sent = await publish(30);
    const firstDeliveries: Delivery[] = [];
    const redelivered: string[] = [];
    let connectionsClosed = 0;
    consume({
      prefetch: 30,
      batchSize: 10,
      maxWaitMs: 1000,
      concurrency: 3,
      handleBatch: async (messages) => {
        if (messages[0]?.redelivered) return void redelivered.push(...idsOf(messages));
        firstDeliveries.push(...messages);
        // Batch 1 settles last: it waits until batches 2 and 3 have settled, then the connection is
        // cut before it settles. Had 2 or 3 been acked on their own, they would not come back.
        if (messages[0]?.deliveryTag === 1) {
          await expect.poll(() => firstDeliveries.length).toBe(30);
          connectionsClosed = await closeConsumerConnection(vhost);
        }
      },
    });
    await expect.poll(() => redelivered.length, { timeout: 20_000 }).toBe(30);
    expect(connectionsClosed).toBe(1);
    expect(redelivered.toSorted()).toEqual(sent.toSorted());
  });

  it('returns a batch whose handler failed to the queue, and acks the batches around it', async () => {
    const sent = await publish(30);
    const succeeded: string[] = [];
    const failedOnce: string[] = [];
    const consumer = consume({
      prefetch: 30,
      batchSize: 10,
      maxWaitMs: 1000,
      concurrency: 3,
      handleBatch: async (messages) => {
        const ids = idsOf(messages);
        if (failedOnce.length === 0 && ids[0] === sent[10]) {
          failedOnce.push(...ids);
          throw new Error('not now');
        }
        succeeded.push(...ids);
      },
    });
    const errors: Error[] = [];
    consumer.on('error', (error) => errors.push(error));
    await expect.poll(() => succeeded.length).toBe(30);
    await consumer.close();
    expect(errors.map((error) => error.message)).toEqual(['not now']);
    expect(failedOnce).toEqual(sent.slice(10, 20));
    expect(succeeded.toSorted()).toEqual(sent.toSorted());
    expect(await queueDepth()).toBe(0);
  });

  it('subscribes again after its connection is force-closed, and does not ack the batch of the old channel', async () => {
    const sent = await publish(10);
    const handled: string[] = [];
    let connectionsClosed = 0;
    const consumer = consume({
      prefetch: 10,
      batchSize: 10,
      maxWaitMs: 50,
      handleBatch: async (messages) => {
        if (connectionsClosed === 0) connectionsClosed = await closeConsumerConnection(vhost);
        handled.push(...idsOf(messages));
      },
    });
    const downs: unknown[] = [];
    consumer.on('down', () => downs.push(1));
    // The first batch's channel is gone before it settles: its 10 messages are delivered again.
    await expect.poll(() => handled.length, { timeout: 15_000 }).toBe(20);
    expect(connectionsClosed).toBe(1);
    expect(downs).toHaveLength(1);
    await expect.poll(() => consumer.consuming).toBe(true);
    await consumer.close();
    expect(handled.toSorted()).toEqual([...sent, ...sent].toSorted());
    expect(await queueDepth()).toBe(0);
  });

  it('subscribes again, declaring the queue anew, when the server cancels it (its queue was deleted)', async () => {
    const handled: string[] = [];
    const consumer = consume({
      prefetch: 10,
      batchSize: 10,
      maxWaitMs: 20,
      handleBatch: async (messages) => void handled.push(...idsOf(messages)),
    });
    const downs: unknown[] = [];
    consumer.on('down', () => downs.push(1));
    await expect.poll(() => consumer.consuming).toBe(true);
    await connection.queueDelete({ queue: partitionQueue(0) });
    await expect.poll(() => downs.length).toBe(1);
    await expect.poll(() => consumer.consuming, { timeout: 10_000 }).toBe(true);
    const sent = await publish(5, { consumerRunning: true });
    await expect.poll(() => handled).toEqual(sent);
  });

  it('takes a message whose routing key AMQP cannot carry out of the way: dead-lettered by the delivery limit, nothing else with it', async () => {
    // Declared first: an MQTT publish that no queue is bound for is acknowledged and lost.
    await ensureTopology(connection, PARTITIONS);
    // Spread over every partition: their heads are in flight beside the one that cannot be delivered.
    const before = await publish(30, { devices: 12 });
    // A topic over 255 bytes: MQTT carries it, AMQP's routing key (a short string) cannot.
    const poisonTopic = `status/${'x'.repeat(260)}`;
    const client = await mqtt.connectAsync(vhost.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    await client.publishAsync(poisonTopic, JSON.stringify({ status: 3 }), { qos: 1 });
    await client.endAsync();
    const after = await publish(30, { consumerRunning: true, devices: 12 });
    await expect.poll(() => queueDepth()).toBe(61);

    const handled: string[] = [];
    const careful: number[] = [];
    const consumer = consume({
      prefetch: 50,
      batchSize: 10,
      maxWaitMs: 20,
      handleBatch: async (messages) => {
        // A store's write takes a while: the other partitions' heads are in flight when the broker closes the connection.
        await new Promise((resolve) => setTimeout(resolve, 20));
        handled.push(...idsOf(messages));
      },
    });
    consumer.on('careful', (messages) => careful.push(messages));

    // Batches handled but not yet acked when the broker closed the connection come again.
    await expect.poll(() => new Set(handled).size, { timeout: 60_000 }).toBe(60);
    expect(new Set(handled)).toEqual(new Set([...before, ...after]));
    expect(careful, 'went careful once the broker closed the connection').toEqual([50]);
    await expect.poll(() => deadLetters(), { timeout: 30_000 }).toEqual([
      { routingKey: BROKER_DEAD_LETTER_ROUTING_KEY, reason: 'delivery_limit', originalRoutingKey: poisonTopic.replaceAll('/', '.') },
    ]);

    // Back to full batches once the window that was in flight has passed.
    const handledBefore = handled.length;
    const later = await publish(30, { consumerRunning: true });
    await expect.poll(() => handled.length, { timeout: 30_000 }).toBe(handledBefore + 30);
    expect(handled.slice(handledBefore)).toEqual(later);
    expect(await deadLetters(), 'nothing else was dead-lettered').toEqual([]);
    expect(await queueDepth()).toBe(0);
  }, 90_000);

  it('drains and deletes what no partition binding reaches any more (the unpartitioned queue, partitions of a larger count), one processor among two', async () => {
    // An earlier version's queue, bound to amq.topic itself, with readings in it.
    await connection.queueDeclare({
      queue: UNPARTITIONED_QUEUE,
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE },
    });
    await connection.queueBind({ queue: UNPARTITIONED_QUEUE, exchange: READINGS_EXCHANGE, routingKey: 'status.#' });
    await ensureTopology(connection, 8);
    // Each reading lands in tally.status and in one of 8 partitions: counted twice, once per queue.
    const sent = await publish(40, { devices: 16, partitions: 8, consumerRunning: true });
    await expect.poll(() => Promise.all([depthOf(UNPARTITIONED_QUEUE), queueDepth(8)])).toEqual([40, 40]);

    const handled: string[] = [];
    const retired: (readonly string[])[] = [];
    const deleted: string[] = [];
    // Two processors at 2 partitions: each consumes every queue and deletes what is drained.
    for (const name of ['a', 'b']) {
      const consumer = consume({
        partitions: 2,
        prefetch: 20,
        batchSize: 10,
        maxWaitMs: 20,
        handleBatch: async (messages) => void handled.push(...idsOf(messages)),
      });
      consumer.on('ready', (queues) => retired.push(queues));
      consumer.on('deleted', (queue) => deleted.push(`${name}:${queue}`));
    }
    await expect.poll(() => handled.length, { timeout: 20_000 }).toBe(80);
    expect(handled.toSorted()).toEqual([...sent, ...sent].toSorted());
    const expectedRetired = [UNPARTITIONED_QUEUE, ...partitionQueues(8).slice(2)];
    // The first to subscribe found them all; the other, all that were not deleted yet.
    expect(retired[0]).toEqual(expectedRetired);
    expect(expectedRetired).toEqual(expect.arrayContaining([...(retired[1] ?? [])]));
    // Each deleted by one processor or both (deleting a queue already deleted is no error).
    await expect.poll(() => [...new Set(deleted.map((entry) => entry.slice(2)))].toSorted(), { timeout: 20_000 }).toEqual(expectedRetired.toSorted());
    for (const queue of expectedRetired) expect(await exists(queue), `${queue} is deleted`).toBe(false);

    // What is published now reaches the two partitions left, and nothing else.
    const later = await publish(20, { devices: 16, partitions: 2, consumerRunning: true });
    await expect.poll(() => handled.length).toBe(100);
    expect(handled.slice(80).toSorted()).toEqual(later.toSorted());
    expect(await deadLetters()).toEqual([]);
  }, 60_000);

});

/** Force-closes the consumer's connection once the management API lists it (it lags a few seconds). */
async function closeConsumerConnection(testVhost: TestVhost): Promise<number> {
  let names: string[] = [];
  await expect
    .poll(async () => (names = await testVhost.listConnections(CONSUMER_CONNECTION)), { timeout: 10_000, interval: 200 })
    .not.toEqual([]);
  return testVhost.closeConnections(names);
}

/** Takes the dead-letter queue's messages: their routing key, and what the broker recorded of their death. */
async function deadLetters(): Promise<{ routingKey: string; reason: unknown; originalRoutingKey: unknown }[]> {
  const taken = [];
  const channel = await connection.acquire();
  try {
    for (;;) {
      const message = await channel.basicGet({ queue: DEAD_LETTER_QUEUE, noAck: true });
      if (message === undefined) return taken;
      const [death] = (message.headers?.['x-death'] ?? []) as Record<string, unknown>[];
      taken.push({
        routingKey: message.routingKey,
        reason: death?.['reason'],
        originalRoutingKey: (death?.['routing-keys'] as string[] | undefined)?.[0],
      });
    }
  } finally {
    await channel.close();
  }
}
