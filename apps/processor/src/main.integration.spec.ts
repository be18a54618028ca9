import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createTestVhost,
  requireMongoServer,
  runApp,
  sendRawHttp,
  startLocalMongo,
  testDatabase,
  waitForDevstack,
  withDatabase,
  type DevstackUrls,
  type LocalMongo,
  type RunningApp,
  type TestVhost,
} from '@tally/devstack';
import {
  createAmqpConnection,
  createReadingPublisher,
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_REASON_HEADER,
  randomReading,
  READING_ROUTING_KEY,
  READINGS_EXCHANGE,
  partitionQueues,
  readingsTopology,
  type RandomReading,
} from '@tally/messaging';
import { STATUSES, type StatusEvent } from '@tally/contract';
import { createStatusEventStore } from '@tally/store';
import { MongoClient, type Collection } from 'mongodb';
import { Connection } from 'rabbitmq-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';


const appDir = join(import.meta.dirname, '..');
/** The processors' partition count here (`TALLY_PARTITIONS`), unless a test sets its own. */
const PARTITIONS = 3;
let stack: DevstackUrls;
let vhost: TestVhost;
let amqp: Connection;
let mongo: MongoClient;
let database: string;
let events: Collection<StatusEvent>;
const running: RunningApp[] = [];

beforeAll(async () => {
  stack = await waitForDevstack();
  mongo = await MongoClient.connect(stack.mongodbUri);
});

afterAll(async () => {
  await mongo?.close();
});

beforeEach(async () => {
  vhost = await createTestVhost(stack, 'processor');
  amqp = createAmqpConnection({ url: vhost.amqpUrl, connectionName: 'tally-processor-test' });
  database = testDatabase(stack.mongodbUri, 'processor_test').name;
  events = mongo.db(database).collection<StatusEvent>('status_events');
});

afterEach(async () => {
  for (const app of running.splice(0)) {
    app.kill('SIGKILL');
    await app.exited;
  }
  await amqp.close();
  await vhost.dispose();
  await mongo.db(database).dropDatabase();
});

function mongodbUri(base = stack.mongodbUri): string {
  return withDatabase(base, database);
}

async function startProcessor(env: Record<string, string> = {}): Promise<RunningApp> {
  const app = runApp({
    appDir,
    env: { AMQP_URL: vhost.amqpUrl, MONGODB_URI: mongodbUri(), TALLY_PARTITIONS: String(PARTITIONS), BATCH_MAX_WAIT_MS: '20', ...env },
  });
  running.push(app);
  await app.waitForLog('consuming', 15_000);
  return app;
}

async function stopProcessor(app: RunningApp): Promise<void> {
  app.kill('SIGTERM');
  expect(await app.exited).toBe(0);
  running.splice(running.indexOf(app), 1);
}

/** `count` readings 10 ms apart; of `devices` devices in turn (`dev-0`…), else without a device (all in one partition). */
function readings(count: number, start = Date.parse('2026-06-01T00:00:00Z'), devices = 0): RandomReading[] {
  return Array.from({ length: count }, (_, i) => randomReading(new Date(start + i * 10), devices > 0 ? `dev-${i % devices}` : undefined));
}

/** Publishes with confirms, `window` at a time, declaring `partitions` partitions first. */
async function publish(items: readonly RandomReading[], window = 500, partitions = PARTITIONS): Promise<void> {
  const publisher = createReadingPublisher({ transport: 'amqp', connection: amqp, partitions });
  try {
    for (let i = 0; i < items.length; i += window) {
      await Promise.all(items.slice(i, i + window).map((reading) => publisher.publish(reading)));
    }
  } finally {
    await publisher.close();
  }
}

async function publishRaw(bodies: readonly Buffer[], routingKey = READING_ROUTING_KEY): Promise<void> {
  const publisher = amqp.createPublisher({ confirm: true, ...readingsTopology(PARTITIONS) });
  try {
    for (const body of bodies) {
      await publisher.send({ exchange: READINGS_EXCHANGE, routingKey, durable: true }, body);
    }
  } finally {
    await publisher.close();
  }
}

async function depth(queue: string): Promise<number> {
  return (await amqp.queueDeclare({ queue, passive: true })).messageCount;
}

/** Readings waiting in every partition. */
async function pending(partitions = PARTITIONS): Promise<number> {
  let total = 0;
  for (const queue of partitionQueues(partitions)) total += await depth(queue);
  return total;
}

async function deadLettered(): Promise<{ body: Buffer; reason: unknown; headers: Record<string, unknown> }[]> {
  const messages: { body: Buffer; reason: unknown; headers: Record<string, unknown> }[] = [];
  for (;;) {
    const message = await amqp.basicGet({ queue: DEAD_LETTER_QUEUE, noAck: true });
    if (!message) return messages;
    const headers = message.headers ?? {};
    messages.push({ body: message.body as Buffer, reason: headers[DEAD_LETTER_REASON_HEADER], headers });
  }
}

/** Polls for up to `timeout` ms: the test's own timeout must leave room for it and what follows. */
async function expectStoredExactly(sent: readonly RandomReading[], timeout = 15_000): Promise<void> {
  await expect.poll(() => events.countDocuments(), { timeout, interval: 250 }).toBe(sent.length);
  const ids = await events.distinct('_id');
  expect(ids.length).toBe(sent.length);
  const sentIds = new Set(sent.map((r) => r.id));
  expect(ids.every((id) => sentIds.has(id))).toBe(true);
}

describe('the processor', () => {
  it('stores 1,000 readings as exactly 1,000 documents, each as sent', async () => {
    const sent = readings(1000);
    await startProcessor();
    await publish(sent);
    await expectStoredExactly(sent);
    const stored = await events.find().sort({ ts: 1 }).toArray();
    expect(stored.map(({ _id, status, ts }) => ({ id: _id, status, ts }))).toEqual(sent);
    expect(stored.every((doc) => doc.receivedAt instanceof Date)).toBe(true);
    expect(await pending()).toBe(0);
  });

  it('stores a reading published three times with the same id once, and counts two duplicates', async () => {
    const [reading] = readings(1) as [RandomReading];
    const app = await startProcessor();
    await publish([reading, reading, { ...reading }]);
    await expect.poll(() => pending()).toBe(0);
    // All three are delivered (the queue is empty); SIGTERM settles what it holds before the summary.
    await stopProcessor(app);
    const { stored, duplicates, deadLettered } = await app.waitForLog('summary', 0);
    expect({ stored, duplicates, deadLettered }).toEqual({ stored: 3, duplicates: 2, deadLettered: {} });
    expect(await events.countDocuments()).toBe(1);
  });

  it('stores a reading without id or ts, timestamped on receipt', async () => {
    await startProcessor();
    const before = Date.now();
    await publishRaw([Buffer.from('{"status": 4}')]);
    await expect.poll(() => events.countDocuments()).toBe(1);
    const [doc] = await events.find().toArray();
    expect(doc?.status).toBe(4);
    expect(doc?.ts.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(doc?.ts).toEqual(doc?.receivedAt);
  });

  it('stores each reading with the device of its routing key or body, and dead-letters conflicts and bad ids', async () => {
    await startProcessor();
    const ts = '2026-06-01T00:00:00.123Z';
    // Three devices, one millisecond, the shared topic, no id: three readings.
    await publishRaw(['a', 'b', 'c'].map((device) => Buffer.from(`{"status":4,"ts":"${ts}","device":"${device}"}`)));
    await publishRaw([Buffer.from(`{"status":5,"ts":"${ts}"}`)], 'status.pump.17');
    await publishRaw([Buffer.from(`{"status":6,"ts":"${ts}","device":"pump-17"}`)], 'status.pump-17');
    await publishRaw([Buffer.from(`{"status":1,"ts":"${ts}"}`)]);
    await publishRaw([Buffer.from('{"status":1,"device":"pump-18"}')], 'status.pump-17');
    await publishRaw([Buffer.from('{"status":1}')], 'status.pump 17');
    await publishRaw([Buffer.from('{"status":1,"device":"pump#17"}')]);

    await expect.poll(() => events.countDocuments(), { timeout: 15_000 }).toBe(6);
    const stored = await events.find().sort({ status: 1, device: 1 }).toArray();
    expect(stored.map(({ status, device }) => [status, device])).toEqual([
      [1, undefined],
      [4, 'a'],
      [4, 'b'],
      [4, 'c'],
      [5, 'pump.17'],
      [6, 'pump-17'],
    ]);
    expect('device' in (stored[0] as StatusEvent)).toBe(false);
    await expect.poll(() => depth(DEAD_LETTER_QUEUE), { timeout: 15_000 }).toBe(3);
    const reasons = (await deadLettered()).map((d) => String(d.reason).split(':')[0]).sort();
    expect(reasons).toEqual(['device_conflict', 'invalid_device', 'invalid_device']);
  });

  it('dead-letters each invalid message once with its reason, and stores the valid ones around them', async () => {
    const valid = readings(100);
    const invalid: [string, Buffer][] = [
      ['invalid_json', Buffer.from('not JSON')],
      ['invalid_schema: status', Buffer.from('{"status":7}')],
      ['invalid_schema: status', Buffer.from('{"status":"3"}')],
      ['invalid_schema: status', Buffer.from('{"status":3.5}')],
      ['invalid_schema: status', Buffer.from('{}')],
      ['invalid_schema: expected a JSON object, got an array', Buffer.from('[]')],
      ['invalid_schema: expected a JSON object, got null', Buffer.from('null')],
      ['too_large', Buffer.alloc(1024 * 1024, '{')],
    ];
    await startProcessor();
    await publish(valid.slice(0, 50));
    await publishRaw(invalid.map(([, body]) => body));
    await publish(valid.slice(50));

    await expectStoredExactly(valid);
    await expect.poll(() => depth(DEAD_LETTER_QUEUE)).toBe(invalid.length);
    const dead = await deadLettered();
    expect(dead.map((d) => d.body)).toEqual(invalid.map(([, body]) => body));
    dead.forEach((d, i) => expect(String(d.reason)).toContain(invalid[i]?.[0]));
    expect(await pending()).toBe(0);
  });

  it.each([1_000, 7_000, 20_000, 60_000, 130_000])(
    'dead-letters a message with %i bytes of headers, and stores the readings of its batch once',
    async (headerBytes) => {
      // The broker's frame_max (128 KiB) bounds what a client may send; rabbitmq-client's default is 8 KiB.
      const sender = new Connection({ url: vhost.amqpUrl, frameMax: 131_072 });
      const publisher = sender.createPublisher({ confirm: true, ...readingsTopology(PARTITIONS) });
      const [reading] = readings(1) as [RandomReading];
      try {
        const properties = { exchange: READINGS_EXCHANGE, routingKey: READING_ROUTING_KEY, durable: true };
        await publisher.send({ ...properties, headers: { big: 'h'.repeat(headerBytes), small: 'kept' } }, Buffer.from('x'));
        await publisher.send(properties, Buffer.from(JSON.stringify({ ...reading, ts: reading.ts.toISOString() })));
        await publisher.send(properties, Buffer.from('{"status": 4}'));
      } finally {
        await publisher.close();
        await sender.close();
      }
      const app = await startProcessor({ BATCH_MAX_WAIT_MS: '200' });

      // Dead-lettering and the write run side by side: wait for both.
      await expect.poll(() => depth(DEAD_LETTER_QUEUE), { timeout: 15_000 }).toBe(1);
      await expect.poll(() => events.countDocuments(), { timeout: 15_000 }).toBe(2);
      const [dead] = await deadLettered();
      expect(dead?.body.toString()).toBe('x');
      expect(String(dead?.reason)).toMatch(/^invalid_json: /);
      // Kept while they fit in a frame with the reason; past that, the largest are dropped, and the reason says so.
      if (headerBytes < 120_000) expect(dead?.headers).toMatchObject({ big: 'h'.repeat(headerBytes), small: 'kept' });
      else {
        expect(dead?.headers).toMatchObject({ small: 'kept' });
        expect(dead?.headers).not.toHaveProperty('big');
        expect(String(dead?.reason)).toMatch(/^invalid_json: .* \(headers dropped to fit a frame: big \(\d+ bytes\)\)$/);
      }
      expect(await events.countDocuments({ _id: reading.id })).toBe(1);
      expect(app.lines.filter((line) => line.level >= 50)).toEqual([]);
      await stopProcessor(app);
      // Stopped, it holds nothing unacked: all three were acked, none went back to the queue.
      expect(await pending()).toBe(0);
      expect(await events.countDocuments()).toBe(2);
    },
    75_000,
  );

  it('loses nothing and stores nothing twice when SIGKILLed mid-drain of 20,000 readings', async () => {
    const sent = readings(20_000);
    await publish(sent);
    const first = await startProcessor();
    await expect.poll(() => events.countDocuments(), { timeout: 30_000, interval: 50 }).toBeGreaterThan(2000);
    first.kill('SIGKILL');
    await first.exited;
    running.splice(running.indexOf(first), 1);
    expect(await events.countDocuments()).toBeLessThan(20_000);

    await startProcessor();
    await expectStoredExactly(sent, 90_000);
    await expect.poll(() => pending()).toBe(0);
  }, 180_000);

  it('shares the partitions between two processors with an exact count', async () => {
    const sent = readings(5000, undefined, 50);
    await Promise.all([startProcessor(), startProcessor()]);
    await publish(sent);
    await expectStoredExactly(sent, 30_000);
    const [a, b] = running;
    await Promise.all([stopProcessor(a as RunningApp), stopProcessor(b as RunningApp)]);
    const storedBy = [a, b].map((app) => (app?.lines.find((l) => l.msg === 'summary')?.['stored'] as number) ?? 0);
    expect(storedBy.reduce((sum, n) => sum + n, 0)).toBe(5000);
    expect(Math.min(...storedBy)).toBeGreaterThan(0);
  }, 90_000);

  it('changes its partition count on a running deployment, 1 → 8 → 4: nothing stranded in a retired partition, nothing stored twice', async () => {
    const fleet = (count: number, hour: number) => readings(count, Date.parse(`2026-06-01T0${hour}:00:00Z`), 40);
    const withCount = (partitions: number) => ({ TALLY_PARTITIONS: String(partitions) });
    const stored: RandomReading[] = [];
    const publishAndExpect = async (batch: RandomReading[], partitions: number) => {
      await publish(batch, 500, partitions);
      stored.push(...batch);
    };

    // 1 → 8: publishers first (readings reach partitions 1-7, which the processor at 1 does not
    // consume), then the processors: stopped, and started at the new count.
    const one = await startProcessor(withCount(1));
    await publishAndExpect(fleet(500, 1), 1);
    await expectStoredExactly(stored, 30_000);
    await publishAndExpect(fleet(1000, 2), 8);
    await stopProcessor(one);
    const eight = await Promise.all([startProcessor(withCount(8)), startProcessor(withCount(8))]);
    await publishAndExpect(fleet(500, 3), 8);
    await expectStoredExactly(stored, 30_000);

    // 8 → 4, with a backlog in the partitions to retire: the processors at 4 drain and delete them.
    await Promise.all(eight.map((app) => stopProcessor(app)));
    await publishAndExpect(fleet(1000, 4), 8);
    const stranded = await Promise.all(partitionQueues(8).slice(4).map((queue) => depth(queue)));
    expect(stranded.every((waiting) => waiting > 0), `readings wait in partitions 4-7: ${stranded.join(', ')}`).toBe(true);
    const four = await Promise.all([startProcessor(withCount(4)), startProcessor(withCount(4))]);
    await publishAndExpect(fleet(500, 5), 4);
    await expectStoredExactly(stored, 60_000);
    const exists = (queue: string) => depth(queue).then(() => true, () => false);
    await expect.poll(() => Promise.all(partitionQueues(8).map(exists)), { timeout: 20_000 }).toEqual([true, true, true, true, false, false, false, false]);
    expect(await pending(4)).toBe(0);
    expect(await depth(DEAD_LETTER_QUEUE)).toBe(0);
    await Promise.all(four.map((app) => stopProcessor(app)));
    const summaries = [one, ...eight, ...four].map((app) => app.lines.find((line) => line.msg === 'summary'));
    expect(summaries.map((summary) => summary?.['duplicates']), 'no reading was stored twice').toEqual([0, 0, 0, 0, 0]);
  }, 180_000);

  it('acks what it stored before exiting on SIGTERM, so a restart gets no redelivery', async () => {
    const sent = readings(6000);
    const first = await startProcessor();
    const publishing = publish(sent, 100);
    await expect.poll(() => events.countDocuments(), { interval: 20 }).toBeGreaterThan(500);
    await stopProcessor(first);
    const storedBefore = await events.countDocuments();
    // Acked by the first: every message whose handler finished (its write acknowledged).
    const acked = (first.lines.find((line) => line.msg === 'summary')?.['stored'] as number) ?? NaN;
    await publishing;

    const second = await startProcessor();
    await expectStoredExactly(sent, 30_000);
    await stopProcessor(second);
    // The second gets only what the first did not ack. Normally that is what the first did not
    // store either; a write the first saw time out (the server finished it later) comes back as a
    // duplicate, once, and is absorbed.
    const summary = second.lines.find((line) => line.msg === 'summary');
    expect(summary).toMatchObject({ stored: sent.length - acked, duplicates: storedBefore - acked });
    expect(acked).toBeGreaterThan(0);
  }, 90_000);
});

describe('the processor\'s probes', () => {
  it('serves /healthz, and /readyz as 200 while consuming, when PROCESSOR_HEALTH_PORT is set', async () => {
    const app = await startProcessor({ PROCESSOR_HEALTH_PORT: '0' });
    const { port, host } = await app.waitForLog('serving /healthz and /readyz');
    expect(host).toBe('127.0.0.1'); // PROCESSOR_HEALTH_HOST's default: this machine only
    const probe = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect(await probe('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await probe('/readyz')).toEqual({ status: 200, body: { status: 'ready', consuming: true, mongodb: 'ok' } });
    expect(await probe('/status')).toEqual({
      status: 404,
      body: { error: { code: 'not_found', message: 'No route /status; the processor serves /healthz, /readyz and /metrics' } },
    });
    const post = await fetch(`http://127.0.0.1:${port}/readyz`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    // No such route, whatever the method.
    const postElsewhere = await fetch(`http://127.0.0.1:${port}/nope`, { method: 'POST' });
    expect(postElsewhere.status).toBe(404);
    await stopProcessor(app);
  });
});

describe('the processor\'s rollups', () => {
  /** Counts per status of `sent` in `[start, end)`, as the rollups must give them. */
  const expected = (sent: readonly RandomReading[], start: number, end: number) => {
    const counts: Record<string, number> = Object.fromEntries(STATUSES.map((status) => [status, 0]));
    for (const { status, ts } of sent) if (ts.getTime() >= start && ts.getTime() < end) counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  };

  it('refreshes the buckets it wrote, and the rollups then count each reading exactly', async () => {
    const sent = readings(3000, Date.parse('2026-06-01T00:00:00Z')).map((r, i) => ({ ...r, ts: new Date(r.ts.getTime() + i * 1000) }));
    await startProcessor({ ROLLUP_REFRESH_INTERVAL_MS: '100' });
    await publish(sent);
    await expectStoredExactly(sent, 30_000);
    const minutes = mongo.db(database).collection<{ dirty: boolean }>('status_rollups_minute');
    await expect.poll(() => minutes.countDocuments({ dirty: true }), { timeout: 20_000 }).toBe(0);
    const store = createStatusEventStore({ db: mongo.db(database) });
    const start = Date.parse('2026-06-01T00:10:30Z');
    const end = Date.parse('2026-06-01T00:47:00.500Z');
    expect(await store.countByStatus({ start: new Date(start), end: new Date(end) }, { timeoutMs: 5000 })).toEqual(expected(sent, start, end));
    expect(await minutes.countDocuments()).toBe(Math.ceil((3000 * 10 + 3000 * 1000) / 60_000));
  }, 90_000);

  it('counts exactly after a targeted rebuild short of where the rollups start, which a plain rebuild then completes', async () => {
    const first = Date.parse('2026-01-01T00:00:00Z');
    const sent = readings(2000, first).map((r, i) => ({ ...r, ts: new Date(first + i * 3_600_000) }));
    await events.insertMany(sent.map(({ id, status, ts }) => ({ _id: id, status, ts, receivedAt: ts })));
    const env = { MONGODB_URI: mongodbUri(), LOG_LEVEL: 'info' };
    const run = async (...args: string[]) => {
      const app = runApp({ appDir, args: ['--rebuild-rollups', ...args], env });
      running.push(app);
      expect(await app.exited).toBe(0);
      return app;
    };
    const store = createStatusEventStore({ db: mongo.db(database) });
    const all = { start: new Date(first), end: new Date(first + 100 * 86_400_000) };
    const expectExact = async () => {
      // A store of its own reads coverage afresh.
      const reader = createStatusEventStore({ db: mongo.db(database) });
      expect(await reader.countByStatus(all, { timeoutMs: 10_000 })).toEqual(expected(sent, all.start.getTime(), all.end.getTime()));
      const january = { start: new Date(first + 3 * 3_600_000), end: new Date(Date.parse('2026-02-10T00:00:00Z')) };
      expect(await reader.countByStatus(january, { timeoutMs: 10_000 })).toEqual(
        expected(sent, january.start.getTime(), january.end.getTime()),
      );
    };

    await run('--from', '2026-01-01', '--to', '2026-02-01');
    await run('--from', '2020-01-01', '--to', '2020-01-02');
    await expectExact();
    const plain = await run();
    expect(plain.lines.some((line) => line.msg === 'rollups rebuilt')).toBe(true);
    expect((await store.rollups.coverage()).getTime()).toBe(first);
    await expectExact();
  }, 180_000);

  it('rebuilds them for readings stored before rollups existed, with --rebuild-rollups', async () => {
    const sent = readings(2000, Date.parse('2026-05-01T00:00:00Z')).map((r, i) => ({ ...r, ts: new Date(r.ts.getTime() + i * 600_000) }));
    await events.insertMany(sent.map(({ id, status, ts }) => ({ _id: id, status, ts, receivedAt: ts })));
    const rebuild = runApp({ appDir, args: ['--rebuild-rollups'], env: { MONGODB_URI: mongodbUri(), LOG_LEVEL: 'info' } });
    running.push(rebuild);
    await rebuild.waitForLog('rollups rebuilt', 90_000);
    expect(await rebuild.exited).toBe(0);
    const store = createStatusEventStore({ db: mongo.db(database) });
    expect((await store.rollups.coverage()).getTime()).toBe(Date.parse('2026-05-01T00:00:00Z'));
    const minutes = mongo.db(database).collection('status_rollups_minute');
    expect(await minutes.countDocuments({ dirty: false })).toBe(2000);
    const start = Date.parse('2026-05-03T07:00:00Z');
    const end = Date.parse('2026-05-12T00:00:00Z');
    expect(await store.countByStatus({ start: new Date(start), end: new Date(end) }, { timeoutMs: 5000 })).toEqual(expected(sent, start, end));
  }, 120_000);

  it('with RAW_RETENTION, deletes older raw readings within a minute of starting; a late reading published there then counts once more', async () => {
    // An hour of readings from 5 days ago, 6 s apart, stored and counted as an earlier processor did.
    const start = Math.floor((Date.now() - 5 * 86_400_000) / 3_600_000) * 3_600_000;
    const sent = readings(600, start, 4).map((r, i) => ({ ...r, ts: new Date(start + i * 6000) }));
    const store = createStatusEventStore({ db: mongo.db(database) });
    await store.ensureIndexes();
    await store.insertReadings(sent.map(({ id, status, ts, device }) => ({ _id: id, status, ts, receivedAt: ts, ...(device && { device }) })));
    while ((await store.rollups.refresh({ limit: 5000 })).pending > 0);
    const hour = { start: new Date(start), end: new Date(start + 3_600_000) };
    const count = (devices?: string[]) => store.countByStatus(hour, { timeoutMs: 5000, ...(devices && { devices }) });
    const before = [await count(), await count(['dev-1'])];

    await startProcessor({ RAW_RETENTION: '2d', ROLLUP_REFRESH_INTERVAL_MS: '100' });
    await expect.poll(() => events.countDocuments(), { timeout: 70_000, interval: 500 }).toBe(0);
    expect([await count(), await count(['dev-1'])]).toEqual(before);

    const late = { ...randomReading(new Date(start + 90_500), 'dev-1'), status: 4 as const };
    await publish([late]);
    const plusOne = (counts: Record<string, number> | undefined) => ({ ...counts, 4: (counts?.['4'] ?? 0) + 1 });
    // A count through its minute is a 503 catching_up until the refresher folded it in.
    await expect.poll(() => count().catch(() => undefined), { timeout: 20_000, interval: 200 }).toEqual(plusOne(before[0]));
    expect(await count(['dev-1'])).toEqual(plusOne(before[1]));

    const rebuild = runApp({ appDir, args: ['--rebuild-rollups', '--from', new Date(start).toISOString()], env: { MONGODB_URI: mongodbUri(), LOG_LEVEL: 'info' } });
    running.push(rebuild);
    const refused = await rebuild.waitForLog('rebuild refused: raw readings expired', 30_000);
    expect(refused['reason']).toMatch(/have expired \(RAW_RETENTION\): their rollups cannot be rebuilt; rebuild from \S+ on$/);
    expect(await rebuild.exited).toBe(1);
  }, 150_000);
});

describe('a rollup rebuild stopped by SIGINT', () => {
  it('stops between two days, exits 130 naming where it stopped, and resumes from there', async () => {
    // 300 days of readings stored before rollups existed.
    const first = Date.parse('2025-06-01T00:00:00Z');
    const sent = readings(1500, first).map((r, i) => ({ ...r, ts: new Date(first + i * 17_280_000) }));
    await events.insertMany(sent.map(({ id, status, ts }) => ({ _id: id, status, ts, receivedAt: ts })));
    const env = { MONGODB_URI: mongodbUri(), LOG_LEVEL: 'info' };
    const rebuild = runApp({ appDir, args: ['--rebuild-rollups'], env });
    running.push(rebuild);
    await rebuild.waitForLog('rebuilt a day', 60_000);
    rebuild.kill('SIGINT');
    expect(await rebuild.exited).toBe(130);
    const stopped = await rebuild.waitForLog('rebuild stopped: run again to resume', 1000);
    const done = rebuild.lines.filter((line) => line.msg === 'rebuilt a day').map((line) => line.day);
    expect(done.length).toBeGreaterThan(0);
    expect(stopped).toMatchObject({ rebuiltDownTo: done.at(-1), resume: `--rebuild-rollups --from 2025-06-01 --to ${String(done.at(-1))}` });
    const store = createStatusEventStore({ db: mongo.db(database) });
    expect((await store.rollups.coverage()).toISOString().slice(0, 10)).toBe(done.at(-1));

    const resumed = runApp({ appDir, args: ['--rebuild-rollups'], env });
    running.push(resumed);
    expect(await resumed.exited).toBe(0);
    const resumedDays = resumed.lines.filter((line) => line.msg === 'rebuilt a day').map((line) => line.day);
    expect(new Set([...done, ...resumedDays]).size).toBe(done.length + resumedDays.length);
    expect((await store.rollups.coverage()).getTime()).toBe(first);
    const all = { start: new Date(first), end: new Date(first + 400 * 86_400_000) };
    expect(await store.countByStatus(all, { timeoutMs: 10_000 })).toEqual(await store.countRawByStatus(all, { timeoutMs: 10_000 }));
  }, 180_000);
});

describe('the processor at start-up', () => {
  const noStackTraces = (app: RunningApp) => app.lines.filter((line) => /"stack"|\\n\s+at /.test(JSON.stringify(line)));

  it('exits 1 with one line when the broker refuses its credentials', async () => {
    const url = new URL(vhost.amqpUrl);
    url.password = 'pa/ss-SECRET';
    const app = runApp({ appDir, env: { AMQP_URL: url.toString(), MONGODB_URI: mongodbUri() } });
    running.push(app);
    expect(await app.exited).toBe(1);
    const errors = app.lines.filter((line) => line.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toBe('start-up failed');
    expect(JSON.stringify(errors[0])).toMatch(/ACCESS.REFUSED/);
    expect(JSON.stringify(app.lines)).not.toContain('SECRET');
    expect(noStackTraces(app)).toEqual([]);
  });

  it('exits 1 with one line when its health port is taken', async () => {
    const first = await startProcessor({ PROCESSOR_HEALTH_PORT: '0' });
    const { port } = (await first.waitForLog('serving /healthz and /readyz')) as unknown as { port: number };
    const second = runApp({
      appDir,
      env: { AMQP_URL: vhost.amqpUrl, MONGODB_URI: mongodbUri(), PROCESSOR_HEALTH_PORT: String(port) },
    });
    running.push(second);
    expect(await second.exited).toBe(1);
    const errors = second.lines.filter((line) => line.level >= 50);
    expect(errors).toHaveLength(1);
    expect(JSON.stringify(errors[0])).toContain('EADDRINUSE');
    expect(noStackTraces(second)).toEqual([]);
    // It closed what it had opened (its consumer logs the summary as it closes) before exiting.
    expect(second.lines.filter((line) => line.msg === 'summary')).toHaveLength(1);
  });
});

describe('the processor\'s probe server', () => {
  it('answers malformed request targets with a JSON 400, logs them, and stays up', async () => {
    const app = await startProcessor({ PROCESSOR_HEALTH_PORT: '0' });
    const { port } = (await app.waitForLog('serving /healthz and /readyz')) as unknown as { port: number };
    const raw = (target: string) =>
      sendRawHttp({ port, request: `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n` });
    for (const target of ['http://[', '*', 'http://[/healthz', 'ftp://host/healthz']) {
      const response = await raw(target);
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toBe('application/json');
      expect(JSON.parse(response.body)).toEqual({ error: { code: 'invalid_request', message: expect.any(String) } });
      await expect.poll(() => app.lines.some((line) => line.msg === 'bad request' && line['target'] === target)).toBe(true);
    }
    expect((await raw('/healthz')).status).toBe(200);
    expect((await raw('http://127.0.0.1/readyz')).status).toBe(200);
    await stopProcessor(app);
  });
});

describe('the processor through a MongoDB outage', () => {
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
    const collection = client.db(database).collection<StatusEvent>('status_events');
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
      await client.db(database).dropDatabase();
      await client.close();
    }
  }, 180_000);

  it('holds messages while the server is down for 10 s, then stores each exactly once', async () => {
    const base = server.urls.mongodbUri ?? '';
    const sent = readings(3000);
    const processor = await startProcessor({ MONGODB_URI: mongodbUri(base) });
    await publish(sent.slice(0, 1000));
    await server.stop();
    await publish(sent.slice(1000, 2000)); // consumed while the server is down
    await processor.waitForLog('MongoDB write failed: holding messages unacked, retrying', 15_000);
    // The outage's length is what this test is about: 10 s of retries, not a wait for something.
    await sleep(10_000);
    server = await startLocalMongo({ binary, dir, port: server.port });
    await publish(sent.slice(2000));

    const client = await MongoClient.connect(mongodbUri(base));
    try {
      const collection = client.db(database).collection<StatusEvent>('status_events');
      await expect.poll(() => collection.countDocuments(), { timeout: 60_000, interval: 250 }).toBe(sent.length);
      expect((await collection.distinct('_id')).length).toBe(sent.length);
    } finally {
      await client.db(database).dropDatabase();
      await client.close();
    }
    expect(await depth(DEAD_LETTER_QUEUE)).toBe(0);
    await expect.poll(() => pending()).toBe(0);
    const failures = processor.lines.filter((line) => line.msg.startsWith('MongoDB write failed'));
    expect(failures).toHaveLength(1); // the outage is logged once, not once per retry
    expect((await processor.waitForLog('MongoDB writes succeed again', 0))['outageMs']).toBeGreaterThan(10_000);
  }, 150_000);
});
