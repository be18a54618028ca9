import { randomUUID } from 'node:crypto';
import { createTestVhost, waitForDevstack, type RunningApp, type TestVhost } from '@tally/devstack';
import {
  createAmqpConnection,
  createReadingPublisher,
  randomReading,
  READING_ROUTING_KEY,
  READINGS_EXCHANGE,
  readingsTopology,
} from '@tally/messaging';
import { MongoClient } from 'mongodb';
import type { Connection } from 'rabbitmq-client';
import { scrapeSample } from '@tally/metrics/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcessor } from './test/testbed';

let vhost: TestVhost;
let amqp: Connection;
let mongo: MongoClient;
let database: string;
let processor: RunningApp;
let metricsUrl: string;
const PARTITIONS = 2;

beforeAll(async () => {
  const stack = await waitForDevstack();
  vhost = await createTestVhost(stack, 'processor-metrics');
  amqp = createAmqpConnection({ url: vhost.amqpUrl, connectionName: 'tally-processor-metrics-test' });
  mongo = await MongoClient.connect(stack.mongodbUri);
  database = `processor_metrics_test_${randomUUID().slice(0, 8)}`;
  processor = runProcessor({
    env: {
      AMQP_URL: vhost.amqpUrl,
      MONGODB_URI: stack.mongodbUri.replace(/\/tally$/, `/${database}`),
      TALLY_PARTITIONS: String(PARTITIONS),
      BATCH_MAX_WAIT_MS: '20',
      PROCESSOR_HEALTH_PORT: '0',
    },
  });
  await processor.waitForLog('consuming');
  const { port } = (await processor.waitForLog('serving /healthz and /readyz')) as unknown as { port: number };
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
});

afterAll(async () => {
  processor?.kill('SIGTERM');
  expect(await processor?.exited).toBe(0);
  await amqp?.close();
  await vhost?.dispose();
  await mongo?.db(database).dropDatabase();
  await mongo?.close();
});

const sample = (line: string) => scrapeSample(metricsUrl, line);

describe('GET /metrics of the processor, on its health port', () => {
  it('counts readings stored, duplicates and dead letters by reason as they flow, and shows its state', async () => {
    expect(await sample('tally_processor_consuming')).toBe(1);
    expect(await sample('tally_processor_mongodb_failing')).toBe(0);
    expect(await sample('tally_processor_readings_stored_total')).toBe(0);

    const readings = Array.from({ length: 40 }, (_, i) => randomReading(new Date(Date.parse('2026-06-01T00:00:00Z') + i * 1000)));
    const publisher = createReadingPublisher({ transport: 'amqp', connection: amqp, partitions: PARTITIONS });
    await Promise.all(readings.map((reading) => publisher.publish(reading)));
    await expect.poll(() => sample('tally_processor_readings_stored_total'), { timeout: 15_000 }).toBe(40);
    expect(await sample('tally_processor_batch_size_sum')).toBe(40);
    expect(await sample('tally_processor_insert_duration_seconds_count')).toBeGreaterThan(0);
    expect(await sample('tally_processor_insert_duration_seconds_count')).toBe(await sample('tally_processor_batch_size_count'));

    // A redelivery of a stored reading counts as stored, once more, and as a duplicate.
    await publisher.publish(readings[0] ?? randomReading());
    await publisher.close();
    await expect.poll(() => sample('tally_processor_readings_duplicate_total'), { timeout: 15_000 }).toBe(1);
    expect(await sample('tally_processor_readings_stored_total')).toBe(41);

    const raw = amqp.createPublisher({ confirm: true, ...readingsTopology(PARTITIONS) });
    for (const body of ['not json', '{"status": 9}', '{"status": 42}']) {
      await raw.send({ exchange: READINGS_EXCHANGE, routingKey: READING_ROUTING_KEY, durable: true }, Buffer.from(body));
    }
    await raw.close();
    await expect.poll(() => sample('tally_processor_dead_lettered_total{reason="invalid_schema"}'), { timeout: 15_000 }).toBe(2);
    expect(await sample('tally_processor_dead_lettered_total{reason="invalid_json"}')).toBe(1);
    expect(await sample('process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
