import { join } from 'node:path';
import {
  bundlePath,
  createTestVhost,
  findWorkspaceRoot,
  runApp,
  testDatabase,
  waitForDevstack,
  withDatabase,
  type DevstackUrls,
  type RunAppOptions,
  type RunningApp,
  type TestVhost,
} from '@tally/devstack';
import {
  createAmqpConnection,
  createReadingPublisher,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_QUEUE,
  partitionQueues,
  randomReading,
  READING_ROUTING_KEY,
  READINGS_EXCHANGE,
  readingsTopology,
  type RandomReading,
} from '@tally/messaging';
import type { StatusEvent } from '@tally/contract';
import { MongoClient, type Collection } from 'mongodb';
import type { Connection } from 'rabbitmq-client';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';

const appDir = join(import.meta.dirname, '..', '..');
/** What `nx build processor` makes, and the image runs: `nx test processor` builds it first. */
const BUNDLE = bundlePath(findWorkspaceRoot(appDir), 'processor');

/**
 * The processor's built bundle, with plain `node` as its image runs it (a start costs a fifth of
 * what `tsx` compiling the source costs), from its directory.
 */
export function runProcessor({ args, env }: Pick<RunAppOptions, 'args' | 'env'>): RunningApp {
  return runApp({ appDir, bundle: BUNDLE, args, env });
}
/** The processors' partition count here (`TALLY_PARTITIONS`), unless a test sets its own. */
export const PARTITIONS = 3;

export interface DeadLetter {
  body: Buffer;
  reason: unknown;
  headers: Record<string, unknown>;
}

/** `count` readings 10 ms apart; of `devices` devices in turn (`dev-0`…), else without a device (all in one partition). */
export function readings(count: number, start = Date.parse('2026-06-01T00:00:00Z'), devices = 0): RandomReading[] {
  return Array.from({ length: count }, (_, i) => randomReading(new Date(start + i * 10), devices > 0 ? `dev-${i % devices}` : undefined));
}

/**
 * What each test of the processor's integration specs works in: a fresh vhost and database on the
 * devstack (made before each test, dropped after it, with every processor it started), and the
 * means to run processors there and look at what they did. Call once per spec file, at its top.
 */
export function processorTestbed() {
  let stack: DevstackUrls;
  let mongo: MongoClient;
  let vhost: TestVhost;
  let amqp: Connection;
  let database: string;
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

  const depth = async (queue: string) => (await amqp.queueDeclare({ queue, passive: true })).messageCount;

  const bed = {
    get vhost(): TestVhost {
      return vhost;
    },
    get amqp(): Connection {
      return amqp;
    },
    get mongo(): MongoClient {
      return mongo;
    },
    get database(): string {
      return database;
    },
    /** The test database's `status_events`. */
    get events(): Collection<StatusEvent> {
      return mongo.db(database).collection<StatusEvent>('status_events');
    },
    /** Apps started in this test, which it kills (SIGKILL) after the test. */
    running,

    /** The test database on `base` (the devstack's server, unless the test brings its own). */
    mongodbUri(base = stack.mongodbUri): string {
      return withDatabase(base, database);
    },

    /** A processor on this test's vhost and database, once it consumes (a wait, not a bound: 60 s). */
    async startProcessor(env: Record<string, string> = {}): Promise<RunningApp> {
      const app = runProcessor({
        env: { AMQP_URL: vhost.amqpUrl, MONGODB_URI: bed.mongodbUri(), TALLY_PARTITIONS: String(PARTITIONS), BATCH_MAX_WAIT_MS: '20', ...env },
      });
      running.push(app);
      await app.waitForLog('consuming', 60_000);
      return app;
    },

    /** SIGTERM; expects exit code 0. */
    async stopProcessor(app: RunningApp): Promise<void> {
      app.kill('SIGTERM');
      expect(await app.exited).toBe(0);
      running.splice(running.indexOf(app), 1);
    },

    /** Publishes with confirms, `window` at a time, declaring `partitions` partitions first. */
    async publish(items: readonly RandomReading[], window = 500, partitions = PARTITIONS): Promise<void> {
      const publisher = createReadingPublisher({ transport: 'amqp', connection: amqp, partitions });
      try {
        for (let i = 0; i < items.length; i += window) {
          await Promise.all(items.slice(i, i + window).map((reading) => publisher.publish(reading)));
        }
      } finally {
        await publisher.close();
      }
    },

    async publishRaw(bodies: readonly Buffer[], routingKey = READING_ROUTING_KEY): Promise<void> {
      const publisher = amqp.createPublisher({ confirm: true, ...readingsTopology(PARTITIONS) });
      try {
        for (const body of bodies) {
          await publisher.send({ exchange: READINGS_EXCHANGE, routingKey, durable: true }, body);
        }
      } finally {
        await publisher.close();
      }
    },

    depth,

    /** Readings waiting in every partition. */
    async pending(partitions = PARTITIONS): Promise<number> {
      let total = 0;
      for (const queue of partitionQueues(partitions)) total += await depth(queue);
      return total;
    },

    /** Takes every message in the dead-letter queue. */
    async deadLettered(): Promise<DeadLetter[]> {
      const messages: DeadLetter[] = [];
      for (;;) {
        const message = await amqp.basicGet({ queue: DEAD_LETTER_QUEUE, noAck: true });
        if (!message) return messages;
        const headers = message.headers ?? {};
        messages.push({ body: message.body as Buffer, reason: headers[DEAD_LETTER_REASON_HEADER], headers });
      }
    },

    /** Polls for up to `timeout` ms: the test's own timeout must leave room for it and what follows. */
    async expectStoredExactly(sent: readonly RandomReading[], timeout = 15_000): Promise<void> {
      await expect.poll(() => bed.events.countDocuments(), { timeout, interval: 250 }).toBe(sent.length);
      const ids = await bed.events.distinct('_id');
      expect(ids.length).toBe(sent.length);
      const sentIds = new Set(sent.map((r) => r.id));
      expect(ids.every((id) => sentIds.has(id))).toBe(true);
    },
  };
  return bed;
}
