import { createTestVhost, waitForDevstack, type TestVhost } from '@tally/devstack';
import type { Connection } from 'rabbitmq-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAmqpConnection } from './connection';
import { createStatusConsumer } from './consumer';
import { createReadingPublisher, type Transport } from './publisher';
import { bodyBytes, decode, randomReading, type Reading } from './reading';
import { STATUS_QUEUE } from './topology';

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

function readingsFrom(start: number, count: number): Required<Reading>[] {
  return Array.from({ length: count }, (_, i) => randomReading(new Date(start + i * 1000)));
}

async function queueDepth(queue: string): Promise<number> {
  const { messageCount } = await connection.queueDeclare({ queue, passive: true });
  return messageCount;
}

/** Consumes `count` messages from tally.status, acking each, and returns their decoded readings. */
async function consume(count: number): Promise<Reading[]> {
  const received: Reading[] = [];
  const consumer = createStatusConsumer({
    connection,
    prefetch: 10,
    handle: async (message) => {
      const result = decode(bodyBytes(message.body));
      if (!result.ok) throw new Error(`undecodable message: ${result.detail}`);
      received.push(result.reading);
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

describe('createStatusConsumer', () => {
  it('acks only what its handler settled, and returns the rest to the queue', async () => {
    const publisher = createReadingPublisher({ transport: 'amqp', connection });
    const [good, bad] = readingsFrom(Date.parse('2026-05-02T00:00:00Z'), 2) as [Required<Reading>, Required<Reading>];
    await publisher.publish(good);
    await publisher.publish(bad);
    await publisher.close();

    const seen: string[] = [];
    const consumer = createStatusConsumer({
      connection,
      handle: async (message) => {
        const result = decode(bodyBytes(message.body));
        if (result.ok && result.reading.id === bad.id) {
          seen.push('failed');
          throw new Error('not now');
        }
        seen.push('handled');
      },
    });
    const errors: unknown[] = [];
    consumer.on('error', (error) => errors.push(error));
    await expect.poll(() => seen.filter((s) => s === 'failed').length).toBeGreaterThanOrEqual(1);
    await consumer.close();

    // The failed one was requeued (not lost, not acked); the handled one is gone.
    expect(seen).toContain('handled');
    expect(String(errors[0])).toContain('not now');
    expect(await queueDepth(STATUS_QUEUE)).toBe(1);
    expect(await consume(1)).toEqual([bad]);
  });
});
