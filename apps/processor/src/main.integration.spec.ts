import { sendRawHttp, type RunningApp } from '@tally/devstack';
import { DEAD_LETTER_QUEUE, READING_ROUTING_KEY, READINGS_EXCHANGE, readingsTopology, type RandomReading } from '@tally/messaging';
import type { StatusEvent } from '@tally/contract';
import { Connection } from 'rabbitmq-client';
import { describe, expect, it } from 'vitest';
import { PARTITIONS, processorTestbed, readings, runProcessor } from './test/testbed';

const bed = processorTestbed();
const { startProcessor, stopProcessor, publish, publishRaw, depth, pending, deadLettered, expectStoredExactly, running, mongodbUri } = bed;

describe('the processor', () => {
  it('stores 1,000 readings as exactly 1,000 documents, each as sent', async () => {
    const sent = readings(1000);
    await startProcessor();
    await publish(sent);
    await expectStoredExactly(sent);
    const stored = await bed.events.find().sort({ ts: 1 }).toArray();
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
    expect(await bed.events.countDocuments()).toBe(1);
  });

  it('stores a reading without id or ts, timestamped on receipt', async () => {
    await startProcessor();
    const before = Date.now();
    await publishRaw([Buffer.from('{"status": 4}')]);
    await expect.poll(() => bed.events.countDocuments()).toBe(1);
    const [doc] = await bed.events.find().toArray();
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

    await expect.poll(() => bed.events.countDocuments(), { timeout: 15_000 }).toBe(6);
    const stored = await bed.events.find().sort({ status: 1, device: 1 }).toArray();
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
      const sender = new Connection({ url: bed.vhost.amqpUrl, frameMax: 131_072 });
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
      await expect.poll(() => bed.events.countDocuments(), { timeout: 15_000 }).toBe(2);
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
      expect(await bed.events.countDocuments({ _id: reading.id })).toBe(1);
      expect(app.lines.filter((line) => line.level >= 50)).toEqual([]);
      await stopProcessor(app);
      // Stopped, it holds nothing unacked: all three were acked, none went back to the queue.
      expect(await pending()).toBe(0);
      expect(await bed.events.countDocuments()).toBe(2);
    },
    75_000,
  );

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

describe('the processor at start-up', () => {
  const noStackTraces = (app: RunningApp) => app.lines.filter((line) => /"stack"|\\n\s+at /.test(JSON.stringify(line)));

  it('exits 1 with one line when the broker refuses its credentials', async () => {
    const url = new URL(bed.vhost.amqpUrl);
    url.password = 'pa/ss-SECRET';
    const app = runProcessor({ env: { AMQP_URL: url.toString(), MONGODB_URI: mongodbUri() } });
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
    const second = runProcessor({
      env: { AMQP_URL: bed.vhost.amqpUrl, MONGODB_URI: mongodbUri(), PROCESSOR_HEALTH_PORT: String(port) },
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
