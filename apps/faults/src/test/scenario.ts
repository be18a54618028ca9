import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bundlePath,
  createTestVhost,
  findWorkspaceRoot,
  freePort,
  pollUntil as poll,
  runApp,
  testDatabase,
  waitForDevstack,
  type DevstackUrls,
  type LogLine,
  type RunningApp,
  type TestVhost,
} from '@tally/devstack';
import { addCounts, DEVICE_DAYS_COLLECTION, floorTo, ROLLUP_LEVELS, zeroCounts, type DeviceDay, type RollupBucket } from '@tally/store';
import { MongoClient, type Collection } from 'mongodb';
import { afterEach, expect } from 'vitest';
import { Checker, tallyOf, type CheckReport, type StoredReading, type Tally } from '../checker';
import {
  Amqp,
  DEAD_LETTER_QUEUE,
  PARTITIONS,
  type ConfirmedPublisher,
} from './amqp';
import type { PrivateBroker, PrivateMongo } from './servers';

const root = findWorkspaceRoot(import.meta.dirname);

export type AppName = 'processor' | 'api' | 'broadcaster';

export interface ScenarioOptions {
  /** Use this broker (or cluster, through one of its nodes) instead of the devstack's. */
  broker?: Pick<PrivateBroker, 'urls'>;
  /** Use this MongoDB-wire server instead of the devstack's. */
  mongo?: PrivateMongo;
}

export interface FinishOptions {
  /** Messages expected in tally.status.dead. @default 0 */
  deadLetters?: number;
  /** How long the processors get to store everything. @default 90_000 */
  timeoutMs?: number;
}

export interface Finished {
  stored: StoredReading[];
  /** The `summary` line of each processor stopped by `finish`. */
  summaries: LogLine[];
}

export interface Api {
  port: number;
  app: RunningApp;
  /** POST /status-counts over all time (of `devices` together, when given); the status, the body and how long it took. */
  count(timeoutMs?: number, devices?: string[]): Promise<{ status: number; body: unknown; ms: number }>;
}

/**
 * One fault scenario: a fresh vhost and database (on the devstack, or on private servers), the
 * built apps run from copies of their bundles, a publisher that records what the broker
 * acknowledged in `checker`, and `finish()`, which checks that everything acknowledged is stored
 * exactly once and counted by the API.
 */
export class Scenario {
  readonly checker = new Checker();
  readonly amqp: Amqp;
  readonly publisher: ConfirmedPublisher;
  readonly env: { AMQP_URL: string; MQTT_URL: string; MONGODB_URI: string; TALLY_PARTITIONS: string };
  readonly #running = new Set<RunningApp>();
  readonly #started: { name: string; app: RunningApp }[] = [];
  /** Processors still running, which `finish` stops. */
  readonly #processors = new Set<RunningApp>();
  readonly #dir = mkdtempSync(join(tmpdir(), 'tally-faults-'));
  readonly #mongo: MongoClient;

  private constructor(
    readonly urls: DevstackUrls,
    readonly vhost: TestVhost,
    readonly database: string,
    mongodbUri: string,
  ) {
    this.env = { AMQP_URL: vhost.amqpUrl, MQTT_URL: vhost.mqttUrl, MONGODB_URI: mongodbUri, TALLY_PARTITIONS: String(PARTITIONS) };
    this.amqp = new Amqp(vhost.amqpUrl);
    this.publisher = this.amqp.publisher((reading) => this.checker.acked(reading));
    this.#mongo = new MongoClient(mongodbUri, { serverSelectionTimeoutMS: 10_000 });
  }

  static async create(prefix: string, { broker, mongo }: ScenarioOptions = {}): Promise<Scenario> {
    const devstack = !broker || !mongo ? await waitForDevstack() : undefined;
    const mongodbUri = mongo?.uri ?? devstack?.mongodbUri ?? '';
    const urls = broker ? broker.urls(mongodbUri) : { ...(devstack as DevstackUrls), mongodbUri };
    const vhost = await createTestVhost(urls, prefix);
    const database = testDatabase(urls.mongodbUri, prefix);
    return new Scenario(urls, vhost, database.name, database.uri);
  }

  get events(): Collection<StoredReading> {
    return this.#mongo.db().collection<StoredReading>('status_events');
  }

  /** Runs a copy of the app's bundle, as its image would, from a directory of its own. */
  start(app: AppName, env: Record<string, string> = {}, args: string[] = []): RunningApp {
    const dir = join(this.#dir, `${app}-${randomUUID().slice(0, 8)}`);
    mkdirSync(dir);
    copyFileSync(bundlePath(root, app), join(dir, 'main.js'));
    return this.#track(app, runApp({ appDir: dir, bundle: join(dir, 'main.js'), env: { ...this.env, ...env }, args }));
  }

  /** Keeps `running` for the logs and the cleanup. */
  #track(app: AppName, running: RunningApp): RunningApp {
    this.#running.add(running);
    this.#started.push({ name: app, app: running });
    void running.exited.then(() => this.#running.delete(running));
    return running;
  }

  /**
   * The processor from its source through a test harness (apps/processor/src/test) that SIGKILLs it
   * right after its first raw insert, before the rollups are marked and the batch acked.
   */
  startProcessorCrashingAfterRawInsert(env: Record<string, string> = {}): RunningApp {
    const source = 'src/test/crash-after-raw-insert.ts';
    return this.#track(
      'processor',
      runApp({ appDir: join(root, 'apps', 'processor'), source, env: { ...this.env, BATCH_MAX_WAIT_MS: '20', ...env } }),
    );
  }

  /** A processor on this scenario's vhost and database, once it consumes. */
  async startProcessor(env: Record<string, string> = {}): Promise<RunningApp> {
    const processor = this.start('processor', { BATCH_MAX_WAIT_MS: '20', ...env });
    this.#processors.add(processor);
    void processor.exited.then(() => this.#processors.delete(processor));
    await untilLog(processor, 'consuming', 60_000);
    return processor;
  }

  /** SIGTERM; expects exit code 0; resolves with its `summary` line. */
  async stopProcessor(processor: RunningApp): Promise<LogLine> {
    processor.kill('SIGTERM');
    expect(await processor.exited, 'the processor exits 0 on SIGTERM').toBe(0);
    return processor.waitForLog('summary', 0);
  }

  async kill(app: RunningApp): Promise<void> {
    app.kill('SIGKILL');
    await app.exited;
  }

  /** An API on this scenario's database, once it listens. */
  async startApi(env: Record<string, string> = {}): Promise<Api> {
    const port = await freePort();
    const app = this.start('api', { API_PORT: String(port), API_REQUEST_TIMEOUT_MS: '20000', ...env });
    await untilLog(app, 'listening', 30_000);
    return {
      port,
      app,
      count: async (timeoutMs = 30_000, devices) => {
        const started = performance.now();
        const response = await fetch(`http://127.0.0.1:${port}/status-counts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ start_time: '2000-01-01T00:00:00Z', end_time: '2100-01-01T00:00:00Z', ...(devices && { device: devices }) }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const body: unknown = await response.json();
        return { status: response.status, body, ms: performance.now() - started };
      },
    };
  }

  /** The broadcaster bundle with `args`; `spawnedAt` bounds when its schedule started. */
  startBroadcaster(args: string[], env: Record<string, string> = {}): RunningApp & { spawnedAt: Date } {
    const spawnedAt = new Date();
    return Object.assign(this.start('broadcaster', env, args), { spawnedAt });
  }

  /**
   * Stops `broadcaster` (run without `--count`) with SIGTERM, expects it to exit 0 with every
   * reading it generated acknowledged, and hands its schedule (started by `startedBy`, from its
   * `broadcasting` line) and what it sent to the checker.
   */
  async stopBroadcaster(
    broadcaster: RunningApp & { spawnedAt: Date },
    { intervalMs, startedBy }: { intervalMs: number; startedBy: number },
  ): Promise<void> {
    broadcaster.kill('SIGTERM');
    expect(await broadcaster.exited, 'the broadcaster exits 0 on SIGTERM').toBe(0);
    const summary = await broadcaster.waitForLog('summary', 0);
    const generated = summary['generated'] as number;
    expect(summary, 'every reading generated was acknowledged').toMatchObject({ published: generated, unsent: 0, dropped: 0 });
    this.checker.broadcast({
      generated,
      intervalMs,
      sent: summary['sent'] as Record<string, number>,
      startedBetween: [broadcaster.spawnedAt, new Date(startedBy)],
    });
  }

  /**
   * The vhost's AMQP connections (those named `connectionName` when given), once the management
   * API lists at least one.
   */
  async connections(connectionName?: string): Promise<string[]> {
    let names: string[] = [];
    const listed = await pollUntil(async () => {
      names = await this.vhost.listConnections(connectionName);
      return names.length > 0;
    }, 30_000);
    if (!listed) throw new Error(`No connection ${connectionName ?? ''} listed in vhost ${this.vhost.name}`);
    return names;
  }

  /** Force-closes connections listed by `connections()`; resolves with how many were still open. */
  closeConnections(names: readonly string[]): Promise<number> {
    return this.vhost.closeConnections(names, 'closed by the fault suite');
  }

  storedCount(): Promise<number> {
    return this.events.estimatedDocumentCount();
  }

  storedDocs(): Promise<StoredReading[]> {
    return this.events.find({}, { projection: { _id: 1, status: 1, ts: 1, receivedAt: 1, device: 1 } }).toArray();
  }

  /**
   * The end of every scenario: once the processors stored what was acknowledged and the queue is
   * empty, stops them (SIGTERM, exit 0), then expects nothing lost, duplicated, unexpected or
   * altered, every partition empty, `deadLetters` in tally.status.dead, and the API's counts equal
   * to the checker's tally.
   */
  async finish({ deadLetters = 0, timeoutMs = 90_000 }: FinishOptions = {}): Promise<Finished> {
    const expected = this.checker.count;
    await pollUntil(
      async () => (await this.storedCount()) >= expected && (await this.amqp.pending()) === 0,
      timeoutMs,
    );
    await this.#expectRollupsExact();
    const summaries: LogLine[] = [];
    for (const processor of this.#processors) summaries.push(await this.stopProcessor(processor));

    const stored = await this.storedDocs();
    expectNoProblems(this.checker.compare(stored), stored.length, expected);
    expect(await this.amqp.pending(), 'messages left in the partitions').toBe(0);
    expect(await this.amqp.depth(DEAD_LETTER_QUEUE), 'messages in tally.status.dead').toBe(deadLetters);

    const api = await this.startApi();
    const { status, body } = await api.count();
    expect(status).toBe(200);
    expect(body as Tally, 'the API counts what the checker counts').toEqual(this.checker.tally);
    return { stored, summaries };
  }

  /**
   * The running processors' refresher recomputes every bucket that ended, and then each rollup level
   * adds up to what is stored before its current bucket: no reading was left unmarked, a crash
   * between raw insert and rollup update included. (The API's count covers the rest.)
   */
  async #expectRollupsExact(): Promise<void> {
    const db = this.#mongo.db();
    const endedDirty = () =>
      Promise.all(
        ROLLUP_LEVELS.map((level) =>
          db.collection<RollupBucket>(level.collection).countDocuments({ dirty: true, _id: { $lte: new Date(Date.now() - level.ms) } }),
        ),
      );
    expect(await pollUntil(async () => (await endedDirty()).every((n) => n === 0), 20_000), 'ended buckets left dirty').toBe(true);
    const now = Date.now();
    for (const level of ROLLUP_LEVELS) {
      const cutoff = new Date(floorTo(now, level.ms));
      const buckets = await db.collection<RollupBucket>(level.collection).find({ _id: { $lt: cutoff } }).toArray();
      const sum = zeroCounts();
      for (const bucket of buckets) if (bucket.counts) addCounts(sum, bucket.counts);
      const stored = tallyOf(await this.events.find({ ts: { $lt: cutoff } }).toArray());
      expect(sum, `the ${level.name} rollups count what is stored before ${cutoff.toISOString()}`).toEqual(stored);
    }
    // Each device's hour slots, likewise: written by the refresh of every hour that ended.
    const hourCutoff = floorTo(now, ROLLUP_LEVELS[1]?.ms ?? 0);
    const slots = new Map<string, Tally>();
    for (const day of await db.collection<DeviceDay>(DEVICE_DAYS_COLLECTION).find().toArray()) {
      for (const [hour, slot] of Object.entries(day.h)) {
        if (day.day.getTime() + Number(hour) * 3_600_000 >= hourCutoff) continue;
        slots.set(day.device, addCounts(slots.get(day.device) ?? zeroCounts(), { ...zeroCounts(), ...slot.c }));
      }
    }
    const storedPerDevice = new Map<string, Tally>();
    for (const reading of await this.events.find({ device: { $exists: true }, ts: { $lt: new Date(hourCutoff) } }).toArray()) {
      const device = reading.device as string;
      storedPerDevice.set(device, addCounts(storedPerDevice.get(device) ?? zeroCounts(), tallyOf([reading])));
    }
    expect(slots, `each device's hour slots count what is stored of it before ${new Date(hourCutoff).toISOString()}`).toEqual(storedPerDevice);
  }

  /** Prints what each app logged (info and above, not the API's request lines), for a failed test. */
  printLogs(linesPerApp = 40): void {
    for (const [i, { name, app }] of this.#started.entries()) {
      const lines = app.lines.filter((line) => line.level >= 30 && line.msg !== 'request');
      const shown = lines.slice(-linesPerApp).map((line) => JSON.stringify(line));
      console.error(`--- ${name} #${i + 1} (pid ${app.pid}), last ${shown.length} of ${lines.length} lines:\n${shown.join('\n')}`);
    }
  }

  async dispose(): Promise<void> {
    for (const app of this.#running) app.kill('SIGKILL');
    await Promise.all([...this.#running].map((app) => app.exited));
    await this.publisher.close().catch(() => undefined);
    await this.amqp.close();
    await this.vhost.dispose().catch(() => undefined);
    await this.#mongo
      .db()
      .dropDatabase({ timeoutMS: 10_000 })
      .catch(() => undefined);
    await this.#mongo.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

function expectNoProblems(report: CheckReport, storedCount: number, expected: number): void {
  const counts = Object.fromEntries(Object.entries(report).map(([name, list]) => [name, list.length]));
  const zero = { lost: 0, duplicated: 0, unexpected: 0, altered: 0 };
  if (JSON.stringify(counts) === JSON.stringify(zero)) return;
  const sample = Object.entries(report)
    .filter(([, list]) => list.length > 0)
    .map(([name, list]) => `${name} (${list.length}, the first 20): ${JSON.stringify(list.slice(0, 20), null, 1)}`)
    .join('\n');
  console.error(`Checker: ${storedCount} documents stored, ${expected} readings acknowledged\n${sample}`);
  expect(counts, `${storedCount} stored, ${expected} acknowledged\n${sample}`).toEqual(zero);
}

/** `app.waitForLog`, failing at once when the app exits first. */
function untilLog(app: RunningApp, msg: string, timeoutMs: number): Promise<LogLine> {
  return new Promise((resolve, reject) => {
    app.waitForLog(msg, timeoutMs).then(resolve, reject);
    void app.exited.then((code) => reject(new Error(`The app exited (code ${code}) before logging "${msg}"`)));
  });
}

/** Polls `check` (an error counts as false) until true or `timeoutMs`; resolves whether it held. */
export function pollUntil(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<boolean> {
  return poll(check, { timeoutMs, intervalMs });
}

/**
 * The scenarios of each test: registers an `afterEach` that prints the apps' logs when the test
 * failed and disposes of its scenarios. Hand each scenario of a test to the function it returns.
 */
export function scenarioPerTest(): (scenario: Scenario) => Scenario {
  let current: Scenario[] = [];
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') for (const scenario of current) scenario.printLogs();
    for (const scenario of current) await scenario.dispose();
    current = [];
  });
  return (scenario) => {
    current.push(scenario);
    return scenario;
  };
}
