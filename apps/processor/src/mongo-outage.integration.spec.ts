import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireMongoServer, startLocalMongo, type LocalMongo } from '@tally/devstack';
import type { StatusEvent } from '@tally/contract';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processorTestbed, readings } from './test/testbed';

const bed = processorTestbed();
const { startProcessor, publish, mongodbUri } = bed;

describe('the processor with a frozen MongoDB', () => {
  const binary = requireMongoServer();
  const dir = mkdtempSync(join(tmpdir(), 'tally-mongo-outage-'));
  let server: LocalMongo;

  beforeAll(async () => {
    server = await startLocalMongo({ binary, dir });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a frozen server in /readyz within the 5 s write bound, and stores each reading once when it thaws', async () => {
    const base = server.urls.mongodbUri ?? '';
    const sent = readings(200);
    const processor = await startProcessor({ MONGODB_URI: mongodbUri(base), PROCESSOR_HEALTH_PORT: '0' });
    const { port } = (await processor.waitForLog('serving /healthz and /readyz')) as unknown as { port: number };
    const readiness = async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      return { ...((await response.json()) as { mongodb?: string }), http: response.status };
    };
    await publish(sent.slice(0, 100));
    const client = await MongoClient.connect(mongodbUri(base));
    const collection = client.db(bed.database).collection<StatusEvent>('status_events');
    try {
      await expect.poll(() => collection.countDocuments(), { timeout: 30_000 }).toBe(100);
      expect(await readiness()).toMatchObject({ http: 200, mongodb: 'ok' });

      server.pause();
      try {
        await publish(sent.slice(100));
        // Both give up at their bounds (2 s ping, 5 s write), well before the driver's 30 s socket
        // timeout would have ended the wait: 20 s tells the two apart on however loaded a machine.
        const beforeSocketTimeout = Date.now() + 20_000;
        await expect.poll(async () => (await readiness()).mongodb, { timeout: 20_000, interval: 250 }).toBe('failing');
        expect((await readiness()).http).toBe(503);
        await processor.waitForLog('MongoDB write failed: holding messages unacked, retrying', Math.max(beforeSocketTimeout - Date.now(), 1));
      } finally {
        server.resume();
      }
      await expect.poll(() => collection.countDocuments(), { timeout: 60_000, interval: 250 }).toBe(sent.length);
      expect((await collection.distinct('_id')).length).toBe(sent.length);
      await expect.poll(async () => (await readiness()).mongodb, { timeout: 15_000 }).toBe('ok');
    } finally {
      await client.db(bed.database).dropDatabase();
      await client.close();
    }
  }, 180_000);
});
