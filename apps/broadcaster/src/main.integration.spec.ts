import { createTestVhost, waitForDevstack } from '@tally/devstack';
import {
  createAmqpConnection,
  createBatchConsumer,
  decode,
  partitionQueue,
  type RandomReading,
  type Transport,
} from '@tally/messaging';
import { deviceFromRoutingKey, STATUSES } from '@tally/contract';
import { describe, expect, it } from 'vitest';
import { runBroadcaster } from './test/run-broadcaster';

/** One partition: these tests read what the broadcaster sent in the order it was sent (the publisher's spec shows the spread). */
const PARTITIONS = 1;
const STATUS_QUEUE = partitionQueue(0);

const startBroadcaster = (args: string[], env: Record<string, string>) => runBroadcaster(args, { TALLY_PARTITIONS: String(PARTITIONS), ...env });

/** A reading as it arrived, with the device its routing key names. */
type Received = RandomReading & { keyDevice: string | undefined };

/** Every reading waiting in the partition at `amqpUrl`, in queue order (the queue is emptied). */
async function drainStatusQueue(amqpUrl: string): Promise<Received[]> {
  const connection = createAmqpConnection({ url: amqpUrl, connectionName: 'tally-broadcaster-test' });
  try {
    const { messageCount } = await connection.queueDeclare({ queue: STATUS_QUEUE, passive: true });
    const readings: Received[] = [];
    const consumer = createBatchConsumer({
      url: amqpUrl,
      connectionName: 'tally-broadcaster-test-consumer',
      partitions: PARTITIONS,
      prefetch: 100,
      batchSize: 100,
      maxWaitMs: 10,
      concurrency: 1,
      handleBatch: async (messages) => {
        for (const message of messages) {
          const result = decode(message.body);
          const fromKey = deviceFromRoutingKey(message.routingKey);
          if (!result.ok || !fromKey.ok) throw new Error(result.ok ? fromKey.ok ? '' : fromKey.detail : result.detail);
          readings.push({ ...(result.reading as RandomReading), keyDevice: fromKey.device });
        }
      },
    });
    await expect.poll(() => readings.length, { timeout: 20_000 }).toBe(messageCount);
    await consumer.close();
    return readings;
  } finally {
    await connection.close();
  }
}

function countByStatus(readings: readonly RandomReading[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(STATUSES.map((status) => [status, 0]));
  for (const { status } of readings) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

describe.each<Transport>(['mqtt', 'amqp'])('the broadcaster over %s', (transport) => {
  it('sends --count readings, --interval apart, and exits 0 with what it sent', async () => {
    const vhost = await createTestVhost(await waitForDevstack(), 'broadcaster');
    try {
      const broadcaster = startBroadcaster(['--transport', transport, '--interval', '50', '--count', '40'], {
        AMQP_URL: vhost.amqpUrl,
        MQTT_URL: vhost.mqttUrl,
      });
      expect(await broadcaster.exited).toBe(0);
      const summary = await broadcaster.waitForLog('summary', 0);
      expect(summary).toMatchObject({ generated: 40, published: 40, unsent: 0, dropped: 0 });

      const readings = await drainStatusQueue(vhost.amqpUrl);
      expect(readings).toHaveLength(40);
      expect(new Set(readings.map((r) => r.id)).size).toBe(40);
      const times = readings.map((r) => r.ts.getTime());
      expect(times.map((t) => t - (times[0] ?? 0))).toEqual(times.map((_, i) => i * 50));
      expect(summary['sent']).toEqual(countByStatus(readings));
      // The seed's stream: the shared topic, no device.
      expect(readings.every((r) => r.keyDevice === undefined && r.device === undefined)).toBe(true);
    } finally {
      await vhost.dispose();
    }
  });

  it('with --devices, publishes each device’s readings on its own topic, --interval apart, phases spread', async () => {
    const vhost = await createTestVhost(await waitForDevstack(), 'broadcaster');
    try {
      const broadcaster = startBroadcaster(['--transport', transport, '--devices', '3', '--interval', '60', '--count', '30'], {
        AMQP_URL: vhost.amqpUrl,
        MQTT_URL: vhost.mqttUrl,
      });
      expect(await broadcaster.exited).toBe(0);
      expect(await broadcaster.waitForLog('summary', 0)).toMatchObject({ generated: 30, published: 30, unsent: 0 });

      const readings = await drainStatusQueue(vhost.amqpUrl);
      expect(readings).toHaveLength(30);
      expect(readings.every((r) => r.keyDevice === r.device)).toBe(true);
      const start = Math.min(...readings.map((r) => r.ts.getTime()));
      const byDevice = (device: string) => readings.filter((r) => r.device === device).map((r) => r.ts.getTime() - start).sort((a, b) => a - b);
      // Each device every 60 ms, the three 20 ms apart: sim-0001 at 0, 60, …; sim-0002 at 20, 80, …
      ['sim-0001', 'sim-0002', 'sim-0003'].forEach((device, k) =>
        expect(byDevice(device), device).toEqual(Array.from({ length: 10 }, (_, i) => k * 20 + i * 60)),
      );
    } finally {
      await vhost.dispose();
    }
  });

  it('with --devices and --rate, keeps --rate as the fleet’s total', async () => {
    const vhost = await createTestVhost(await waitForDevstack(), 'broadcaster');
    try {
      const broadcaster = startBroadcaster(['--transport', transport, '--devices', '5', '--rate', '100', '--count', '50'], {
        AMQP_URL: vhost.amqpUrl,
        MQTT_URL: vhost.mqttUrl,
      });
      expect(await broadcaster.exited).toBe(0);
      const readings = await drainStatusQueue(vhost.amqpUrl);
      const times = readings.map((r) => r.ts.getTime()).sort((a, b) => a - b);
      // 100 a second in total: one every 10 ms, each of the 5 devices every 50 ms.
      expect(times.map((t) => t - (times[0] ?? 0))).toEqual(Array.from({ length: 50 }, (_, i) => i * 10));
      expect(new Set(readings.map((r) => r.device)).size).toBe(5);
      expect(readings.filter((r) => r.device === 'sim-0005')).toHaveLength(10);
    } finally {
      await vhost.dispose();
    }
  });

  it('exits 1 with one line when the broker refuses its credentials', async () => {
    const vhost = await createTestVhost(await waitForDevstack(), 'broadcaster');
    try {
      const wrong = (url: string) => Object.assign(new URL(url), { password: 'pa-SECRET' }).toString();
      const broadcaster = startBroadcaster(['--transport', transport, '--interval', '50'], {
        AMQP_URL: wrong(vhost.amqpUrl),
        MQTT_URL: wrong(vhost.mqttUrl),
      });
      expect(await broadcaster.exited).toBe(1);
      const errors = broadcaster.lines.filter((line) => line.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ msg: 'start-up failed' });
      expect(JSON.stringify(errors[0])).toMatch(/access_refused: the broker refused the credentials/);
      expect(JSON.stringify(broadcaster.lines)).not.toContain('SECRET');
    } finally {
      await vhost.dispose();
    }
  });
});
