import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundlePath, createTestVhost, freePort, runApp, testDatabase, waitForDevstack, type RunningApp, type TestVhost } from '@tally/devstack';
import { MongoClient } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');

/**
 * The app's bundle, copied out of the workspace as an image holds it: with no node_modules
 * anywhere above it, so a dependency left out of the bundle fails here as it would in production.
 */
function bundle(app: string): string {
  const copy = join(mkdtempSync(join(tmpdir(), `tally-${app}-`)), 'main.js');
  copyFileSync(bundlePath(root, app), copy);
  return copy;
}
const running: RunningApp[] = [];
let cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const app of running.splice(0)) {
    app.kill('SIGKILL');
    await app.exited;
  }
  for (const step of cleanup) await step();
  cleanup = [];
});

async function stack(): Promise<{ vhost: TestVhost; env: Record<string, string> }> {
  const urls = await waitForDevstack();
  const vhost = await createTestVhost(urls, 'e2e');
  const { uri: mongodbUri } = testDatabase(urls.mongodbUri, 'e2e');
  cleanup.push(async () => {
    await vhost.dispose();
    const client = await MongoClient.connect(mongodbUri);
    await client.db().dropDatabase();
    await client.close();
  });
  const port = String(await freePort());
  return {
    vhost,
    env: { AMQP_URL: vhost.amqpUrl, MQTT_URL: vhost.mqttUrl, MONGODB_URI: mongodbUri, API_PORT: port },
  };
}

function start(app: string, env: Record<string, string>, args: string[] = []): RunningApp {
  const process = runApp({ appDir: join(root, 'apps', app), bundle: bundle(app), env, args });
  running.push(process);
  return process;
}

async function counts(port: string, token?: string): Promise<Record<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/status-counts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ start_time: '2000-01-01T00:00:00Z', end_time: '2100-01-01T00:00:00Z' }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, number>;
}

const total = (byStatus: Record<string, number>) => Object.values(byStatus).reduce((a, b) => a + b, 0);

describe.each(['mqtt', 'amqp'])('the built pipeline, broadcasting over %s', (transport) => {
  it('counts through the API exactly what the broadcaster reports it sent', async () => {
    const { env } = await stack();
    const token = randomUUID();
    const api = start('api', { ...env, API_TOKEN: token });
    const processors = [start('processor', env), start('processor', env)];
    await Promise.all([api.waitForLog('listening', 15_000), ...processors.map((p) => p.waitForLog('consuming', 15_000))]);

    const broadcaster = start('broadcaster', env, ['--transport', transport, '--interval', '10', '--count', '500']);
    expect(await broadcaster.exited).toBe(0);
    const summary = await broadcaster.waitForLog('summary', 0);
    expect(summary).toMatchObject({ generated: 500, published: 500, unsent: 0, dropped: 0 });
    const sent = summary['sent'] as Record<string, number>;

    await expect.poll(async () => total(await counts(env['API_PORT'] ?? '', token)), { timeout: 20_000 }).toBe(500);
    expect(await counts(env['API_PORT'] ?? '', token)).toEqual(sent);

    for (const app of [api, ...processors]) app.kill('SIGTERM');
    expect(await Promise.all([api, ...processors].map((app) => app.exited))).toEqual([0, 0, 0]);
    running.splice(0);
  }, 60_000);
});
