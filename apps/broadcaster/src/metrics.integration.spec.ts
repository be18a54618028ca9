import { createTestVhost, waitForDevstack, type RunningApp, type TestVhost } from '@tally/devstack';
import { scrapeSamples } from '@tally/metrics/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBroadcaster } from './test/run-broadcaster';

let vhost: TestVhost;
let broadcaster: RunningApp;
let metricsUrl: string;

beforeAll(async () => {
  vhost = await createTestVhost(await waitForDevstack(), 'broadcaster-metrics');
  broadcaster = runBroadcaster(['--interval', '25'], { AMQP_URL: vhost.amqpUrl, MQTT_URL: vhost.mqttUrl, BROADCAST_METRICS_PORT: '0' });
  const { port, host } = (await broadcaster.waitForLog('serving /metrics')) as unknown as { port: number; host: string };
  expect(host).toBe('127.0.0.1');
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
});

afterAll(async () => {
  broadcaster?.kill('SIGTERM');
  await broadcaster?.exited;
  await vhost?.dispose();
});

const samples = () => scrapeSamples(metricsUrl);

const published = (all: Map<string, number>) =>
  [...all].filter(([name]) => name.startsWith('tally_broadcaster_published_total{')).reduce((sum, [, value]) => sum + value, 0);

describe('GET /metrics of the broadcaster, on BROADCAST_METRICS_PORT', () => {
  it('counts the readings the broker acknowledged, per status, as they flow, and says the broker is up', async () => {
    await expect.poll(async () => published(await samples()), { timeout: 15_000 }).toBeGreaterThanOrEqual(5);
    const first = await samples();
    await expect.poll(async () => published(await samples()), { timeout: 15_000 }).toBeGreaterThanOrEqual(published(first) + 10);
    const later = await samples();
    expect(later.get('tally_broadcaster_broker_up')).toBe(1);
    expect(later.get('tally_broadcaster_dropped_total')).toBe(0);
    // Readings taken and not yet confirmed: how many depends on the broker's pace (a loaded machine
    // confirms later, and 5 was too few there), so only that the gauge is there.
    expect(later.get('tally_broadcaster_buffered')).toBeGreaterThanOrEqual(0);
    expect(later.get('process_cpu_user_seconds_total')).toBeGreaterThan(0);

    broadcaster.kill('SIGTERM');
    expect(await broadcaster.exited).toBe(0);
    // What the metrics counted per status is what the broadcaster says it sent (it sent more since).
    const { sent } = (await broadcaster.waitForLog('summary', 0)) as unknown as { sent: Record<string, number> };
    for (let status = 0; status <= 6; status++) {
      expect(later.get(`tally_broadcaster_published_total{status="${status}"}`) ?? 0).toBeLessThanOrEqual(sent[status] ?? 0);
    }
    expect(published(later)).toBeGreaterThan(0);
  });
});
