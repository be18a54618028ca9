import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createTestVhost,
  findRabbitMqServer,
  runApp,
  startLocalRabbitMq,
  waitForDevstack,
  type DevstackUrls,
  type LocalRabbitMq,
} from '@tally/devstack';
import {
  createAmqpConnection,
  createBatchConsumer,
  decode,
  partitionQueue,
  type RandomReading,
  type Transport,
} from '@tally/messaging';
import { deviceFromRoutingKey, STATUSES } from '@tally/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** One partition: these tests read what the broadcaster sent in the order it was sent (the publisher's spec shows the spread). */
const PARTITIONS = 1;
const STATUS_QUEUE = partitionQueue(0);

const runBroadcaster = (args: string[], env: Record<string, string>) =>
  runApp({ appDir: join(import.meta.dirname, '..'), args, env: { TALLY_PARTITIONS: String(PARTITIONS), ...env } });

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

/** Readings waiting in the partition at `amqpUrl`, read on a connection of its own. */
async function queueDepth(amqpUrl: string): Promise<number> {
  const connection = createAmqpConnection({ url: amqpUrl, connectionName: 'tally-broadcaster-test-depth' });
  try {
    return (await connection.queueDeclare({ queue: STATUS_QUEUE, passive: true })).messageCount;
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
      const broadcaster = runBroadcaster(['--transport', transport, '--interval', '50', '--count', '40'], {
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
      const broadcaster = runBroadcaster(['--transport', transport, '--devices', '3', '--interval', '60', '--count', '30'], {
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
      const broadcaster = runBroadcaster(['--transport', transport, '--devices', '5', '--rate', '100', '--count', '50'], {
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
      const broadcaster = runBroadcaster(['--transport', transport, '--interval', '50'], {
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

describe('the broadcaster through a broker outage', () => {
  const server = findRabbitMqServer() ?? '';
  const dir = mkdtempSync(join(tmpdir(), 'tally-outage-'));
  const nodeName = `tally-outage-${process.pid}@localhost`;
  let broker: LocalRabbitMq;

  beforeAll(async () => {
    if (!server) throw new Error('This test starts a RabbitMQ of its own: install rabbitmq-server');
    broker = await startLocalRabbitMq({ server, dir, nodeName });
  });

  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('over mqtt and amqp keeps every reading generated while the broker was down for 5 s, in order', async () => {
    // One outage for both transports, each broadcaster in a vhost of its own.
    const runs = await Promise.all(
      (['mqtt', 'amqp'] as const).map(async (transport: Transport) => {
        const vhost = await createTestVhost({ ...broker.urls, mongodbUri: '' } as DevstackUrls, `outage-${transport}`);
        const broadcaster = runBroadcaster(['--transport', transport, '--interval', '100'], { AMQP_URL: vhost.amqpUrl, MQTT_URL: vhost.mqttUrl });
        const broadcasting = await broadcaster.waitForLog('broadcasting');
        return { transport, amqpUrl: vhost.amqpUrl, broadcaster, startedAt: Date.parse(String(broadcasting['time'])) };
      }),
    );
    try {
      // Readings acknowledged before the outage, in the queue.
      for (const { amqpUrl } of runs) await expect.poll(() => queueDepth(amqpUrl), { timeout: 10_000, interval: 200 }).toBeGreaterThanOrEqual(10);

      await broker.stop();
      for (const { broadcaster } of runs) await broadcaster.waitForLog('broker unreachable: keeping readings until it is back', 10_000);
      // The outage's length is what this test is about (readings generated meanwhile are kept), not a wait.
      await sleep(5000);
      broker = await startLocalRabbitMq({ server, dir, nodeName, ports: broker.ports });

      for (const { transport, amqpUrl, broadcaster, startedAt } of runs) {
        const back = await broadcaster.waitForLog('broker back', 40_000);
        expect(back['outageMs'], transport).toBeGreaterThanOrEqual(5000);
        /** Readings due by now: one at the start and one every 100 ms. */
        const due = () => Math.floor((Date.now() - startedAt) / 100) + 1;
        // Caught up: what it kept through the outage is published, and so is every reading due since.
        await expect
          .poll(async () => {
            const dueBefore = due();
            return (await queueDepth(amqpUrl)) - dueBefore;
          }, { timeout: 20_000, interval: 200 })
          .toBeGreaterThanOrEqual(0);
      }

      for (const { transport, amqpUrl, broadcaster } of runs) {
        broadcaster.kill('SIGTERM');
        expect(await broadcaster.exited, transport).toBe(0);
        const summary = await broadcaster.waitForLog('summary', 0);
        const generated = summary['generated'] as number;
        expect(generated, transport).toBeGreaterThan(80);
        expect(summary, transport).toMatchObject({ published: generated, unsent: 0, dropped: 0 });

        // A publish whose acknowledgement the outage swallowed is sent again: duplicates are
        // allowed (the processor stores each id once), gaps and reordering are not.
        const readings = await drainStatusQueue(amqpUrl);
        const seen = new Set<string>();
        const unique = readings.filter((r) => !seen.has(r.id) && seen.add(r.id));
        expect(unique, transport).toHaveLength(generated);
        const start = unique[0]?.ts.getTime() ?? 0;
        expect(unique.map((r) => r.ts.getTime() - start), transport).toEqual(Array.from({ length: generated }, (_, i) => i * 100));
      }
    } finally {
      for (const { broadcaster } of runs) broadcaster.kill('SIGKILL');
    }
  }, 150_000);
});
