import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { freePort, runApp, waitForDevstack, type RunningApp } from '@tally/devstack';
import { createMongoConnection, createStatusEventStore, type MongoConnection } from '@tally/store';
import { scrapeSample } from '@tally/metrics/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const appDir = join(import.meta.dirname, '..');
let api: RunningApp;
let mongo: MongoConnection;
let apiUrl: string;
let metricsUrl: string;

beforeAll(async () => {
  const { mongodbUri, amqpUrl } = await waitForDevstack();
  const uri = mongodbUri.replace(/\/tally$/, `/api_metrics_test_${randomUUID().slice(0, 8)}`);
  mongo = createMongoConnection({ uri });
  const [port, metricsPort] = [await freePort(), await freePort()];
  api = runApp({ appDir, env: { AMQP_URL: amqpUrl, MONGODB_URI: uri, API_PORT: String(port), API_METRICS_PORT: String(metricsPort) } });
  await api.waitForLog('serving /metrics');
  [apiUrl, metricsUrl] = [`http://127.0.0.1:${port}`, `http://127.0.0.1:${metricsPort}/metrics`];
});

afterAll(async () => {
  api?.kill('SIGTERM');
  expect(await api?.exited).toBe(0);
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

const sample = (line: string) => scrapeSample(metricsUrl, line);

describe('GET /metrics of the API, on its own port', () => {
  it('shows request counters that move as readings are counted, and the process metrics', async () => {
    const ok = 'tally_api_requests_total{method="GET",route="/status-counts",status="200"}';
    const timed = 'tally_api_request_duration_seconds_count{method="GET",route="/status-counts"}';
    const [before, timedBefore] = [await sample(ok), await sample(timed)];
    const events = createStatusEventStore({ db: mongo.db });
    await events.ensureIndexes();
    await events.insertReadings([0, 3, 3, 6].map((status) => ({ _id: randomUUID(), status, ts: new Date('2026-05-01T10:00:00Z'), receivedAt: new Date() })));
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${apiUrl}/status-counts?start_time=2026-05-01&end_time=2026-05-02`);
      expect(await response.json()).toMatchObject({ 0: 1, 3: 2, 6: 1 });
    }
    expect(await sample(ok)).toBe(before + 3);
    expect(await sample(timed)).toBe(timedBefore + 3);
    expect(await sample('tally_api_store_errors_total{kind="unavailable"}')).toBe(0);
    expect(await sample('process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('is not on the API port', async () => {
    expect((await fetch(`${apiUrl}/metrics`)).status).toBe(404);
  });
});
