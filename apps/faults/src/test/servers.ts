import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findRabbitMqServer,
  rabbitMqCtl,
  requireMongoServer,
  startLocalMongo,
  startLocalRabbitMq,
  type DevstackUrls,
  type LocalMongo,
  type LocalRabbitMq,
  type MongoServerBinary,
} from '@tally/devstack';

/**
 * A RabbitMQ node of the test's own (MQTT and management on), which it may stop, restart and
 * disturb without touching the shared devstack.
 */
export class PrivateBroker {
  private constructor(
    private readonly server: string,
    private readonly dir: string,
    private readonly nodeName: string,
    private broker: LocalRabbitMq,
    private readonly plugins: readonly string[] | undefined,
  ) {}

  /** `plugins`: those to enable, when not Tally's (`RABBITMQ_PLUGINS`). */
  static async start({ plugins }: { plugins?: readonly string[] } = {}): Promise<PrivateBroker> {
    const server = findRabbitMqServer();
    if (!server) throw new Error('This test starts a RabbitMQ of its own: install rabbitmq-server');
    const dir = mkdtempSync(join(tmpdir(), 'tally-faults-rabbitmq-'));
    const nodeName = `tally-faults-${process.pid}-${Date.now() % 100_000}@localhost`;
    try {
      return new PrivateBroker(server, dir, nodeName, await startLocalRabbitMq({ server, dir, nodeName, plugins }), plugins);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The broker's URLs, vhost "/"; `mongodbUri` is whatever the caller pairs it with. */
  urls(mongodbUri: string): DevstackUrls {
    const { amqpUrl = '', mqttUrl = '', managementUrl } = this.broker.urls;
    return { amqpUrl, mqttUrl, managementUrl, mongodbUri };
  }

  /** Stops the node (SIGTERM: a clean shutdown). */
  stop(): Promise<void> {
    return this.broker.stop();
  }

  /** Starts the node again on the same ports, with its data. */
  async restart(): Promise<void> {
    const { server, dir, nodeName, plugins } = this;
    this.broker = await startLocalRabbitMq({ server, dir, nodeName, plugins, ports: this.broker.ports });
  }

  /** Runs `rabbitmqctl` against this node, e.g. `ctl('close_all_connections', 'test')`. */
  ctl(...args: string[]): Promise<string> {
    const { server, dir, nodeName } = this;
    return rabbitMqCtl({ server, dir, nodeName }, args);
  }

  async dispose(): Promise<void> {
    await this.broker.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A MongoDB-wire server (mongod, else FerretDB) of the test's own, to stop and freeze. */
export class PrivateMongo {
  private constructor(
    private readonly binary: MongoServerBinary,
    private readonly dir: string,
    private server: LocalMongo,
  ) {}

  static async start(): Promise<PrivateMongo> {
    const binary = requireMongoServer();
    const dir = mkdtempSync(join(tmpdir(), 'tally-faults-mongo-'));
    try {
      return new PrivateMongo(binary, dir, await startLocalMongo({ binary, dir }));
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Connection string, database `tally`. */
  get uri(): string {
    return this.server.urls.mongodbUri ?? '';
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** Starts the server again on the same port, with its data. */
  async restart(): Promise<void> {
    this.server = await startLocalMongo({ binary: this.binary, dir: this.dir, port: this.server.port });
  }

  /** SIGSTOP: the server hangs with its connections open. */
  pause(): void {
    this.server.pause();
  }

  /** SIGCONT */
  resume(): void {
    this.server.resume();
  }

  async dispose(): Promise<void> {
    await this.server.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
