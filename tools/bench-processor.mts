/**
 * Processor drain benchmark (issue: processor speed). Needs a running devstack and built apps:
 *   npx nx build processor && npx tsx tools/bench-processor.mts [readings=100000] [naive=3000]
 * Measures, in one run: a plain insertMany loop (batches of 500), the processor draining a full
 * queue, and the processor in naive mode (prefetch 1, one insert and one ack per message).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestVhost, waitForDevstack, type TestVhost } from '@tally/devstack';
import { createAmqpConnection, createReadingPublisher, randomReading, STATUS_QUEUE } from '@tally/messaging';
import { MongoClient } from 'mongodb';

const readings = Number(process.argv[2] ?? 100_000);
const naiveReadings = Number(process.argv[3] ?? 3000);
const root = join(import.meta.dirname, '..');
const urls = await waitForDevstack({ root });
const mongo = await MongoClient.connect(urls.mongodbUri);
const stamp = Date.now().toString(36);

function makeReadings(count: number) {
  const start = Date.parse('2026-01-01T00:00:00Z');
  return Array.from({ length: count }, (_, i) => randomReading(new Date(start + i * 1000)));
}

async function direct(count: number): Promise<number> {
  const db = mongo.db(`bench_direct_${stamp}`);
  const docs = makeReadings(count).map((r) => ({ _id: r.id, status: r.status, ts: r.ts, receivedAt: new Date() }));
  const started = performance.now();
  for (let i = 0; i < docs.length; i += 500) {
    await db.collection('status_events').insertMany(docs.slice(i, i + 500), { ordered: false });
  }
  const seconds = (performance.now() - started) / 1000;
  await db.dropDatabase();
  return count / seconds;
}

async function fillQueue(vhost: TestVhost, count: number): Promise<void> {
  const connection = createAmqpConnection({ url: vhost.amqpUrl, connectionName: 'bench-fill' });
  const publisher = createReadingPublisher({ transport: 'amqp', connection });
  const all = makeReadings(count);
  for (let i = 0; i < all.length; i += 1000) await Promise.all(all.slice(i, i + 1000).map((r) => publisher.publish(r)));
  await publisher.close();
  await connection.close();
}

async function drain(count: number, env: Record<string, string>): Promise<{ perSecond: number; peakRssMb: number }> {
  const vhost = await createTestVhost(urls, 'bench');
  const database = `bench_processor_${stamp}_${env['BATCH_SIZE'] ?? 'default'}`;
  await fillQueue(vhost, count);
  const collection = mongo.db(database).collection('status_events');
  const started = performance.now();
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'dist/apps/processor/main.js')], {
    env: {
      PATH: process.env['PATH'],
      AMQP_URL: vhost.amqpUrl,
      MONGODB_URI: urls.mongodbUri.replace(/\/tally$/, `/${database}`),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // Counting documents is a full scan on FerretDB: watch the queue (cheap) and count once at the end.
  const amqp = createAmqpConnection({ url: vhost.amqpUrl, connectionName: 'bench-watch' });
  let peakRssMb = 0;
  const queueEmpty = async () => {
    const { messageCount } = await amqp.queueDeclare({ queue: STATUS_QUEUE, passive: true });
    const { consumerCount } = await amqp.queueDeclare({ queue: STATUS_QUEUE, passive: true });
    return messageCount === 0 && consumerCount > 0;
  };
  while (!(await queueEmpty()) || (await collection.countDocuments()) < count) {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    peakRssMb = Math.max(peakRssMb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  await amqp.close();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  await mongo.db(database).dropDatabase();
  await vhost.dispose();
  return { perSecond: count / seconds, peakRssMb: Math.round(peakRssMb) };
}

const directRate = await direct(readings);
const processor = await drain(readings, JSON.parse(process.env['BENCH_PROCESSOR_ENV'] ?? '{}'));
const naive = await drain(naiveReadings, { PROCESSOR_PREFETCH: '1', BATCH_SIZE: '1', BATCH_MAX_WAIT_MS: '0' });
await mongo.close();

const row = (name: string, rate: number, extra = '') => `${name.padEnd(34)} ${rate.toFixed(0).padStart(8)}/s ${extra}`;
console.log(`readings: ${readings} (naive: ${naiveReadings}); MongoDB-wire server: ${urls.mongodbUri}`);
console.log(row('direct insertMany, batches of 500', directRate));
console.log(row('processor (defaults)', processor.perSecond, `peak RSS ${processor.peakRssMb} MB`));
console.log(row('processor naive (prefetch 1, batch 1)', naive.perSecond, `peak RSS ${naive.peakRssMb} MB`));
console.log(`processor / direct: ${(processor.perSecond / directRate).toFixed(2)}`);
console.log(`processor / naive:  ${(processor.perSecond / naive.perSecond).toFixed(1)}`);
