import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DevstackError } from './errors';
import { freePort } from './net';
import { rabbitMqCtl, startLocalRabbitMq, type LocalRabbitMq, type RabbitMqPorts } from './rabbitmq';

export interface LocalRabbitMqClusterOptions {
  server: string;
  /** Private directory: one sub-directory per node. */
  dir: string;
  /** Prefix of the Erlang node names, unique on this machine: nodes are `<prefix>-1@localhost`, ... */
  namePrefix: string;
  /** @default 3 */
  size?: number;
}

/** One node of a private cluster, which a test may stop and start again in place. */
export class ClusterNode {
  #broker: LocalRabbitMq | undefined;

  constructor(
    readonly server: string,
    readonly dir: string,
    readonly nodeName: string,
    readonly ports: RabbitMqPorts,
    private readonly cookie: string,
  ) {}

  get running(): boolean {
    return this.#broker !== undefined;
  }

  get amqpUrl(): string {
    return `amqp://guest:guest@127.0.0.1:${this.ports.amqp}`;
  }

  get mqttUrl(): string {
    return `mqtt://guest:guest@127.0.0.1:${this.ports.mqtt}`;
  }

  get managementUrl(): string {
    return `http://guest:guest@127.0.0.1:${this.ports.management}`;
  }

  /** Starts the node (again, with its data: a node that was a member rejoins its cluster by itself). */
  async start(): Promise<void> {
    if (this.#broker) return;
    const { server, dir, nodeName, ports, cookie } = this;
    this.#broker = await startLocalRabbitMq({ server, dir, nodeName, ports, cookie });
  }

  /** Stops the node (SIGTERM: a clean shutdown, as a rolling restart or a drained host does). */
  async stop(): Promise<void> {
    const broker = this.#broker;
    this.#broker = undefined;
    await broker?.stop();
  }

  /** `rabbitmqctl ARGS` (or another CLI tool) against this node. */
  ctl(args: readonly string[], tool?: string): Promise<string> {
    return rabbitMqCtl(this, args, { tool });
  }
}

export interface LocalRabbitMqCluster {
  nodes: readonly ClusterNode[];
  /** Stops every node still running. */
  stop(): Promise<void>;
}

/**
 * Starts `size` private RabbitMQ nodes (MQTT and management on; own names, ports, data and a
 * shared Erlang cookie) and clusters them: every node after the first runs `rabbitmqctl
 * stop_app`, `join_cluster <first>`, `start_app`. Resolves once `cluster_status` of the first
 * lists every node as running. Quorum queues declared afterwards are replicated on all of them.
 */
export async function startLocalRabbitMqCluster(options: LocalRabbitMqClusterOptions): Promise<LocalRabbitMqCluster> {
  const size = options.size ?? 3;
  const cookie = randomBytes(20).toString('hex').toUpperCase();
  const ports = await distinctPorts(size * 4);
  const nodes = Array.from({ length: size }, (_, i) => {
    const dir = join(options.dir, `node-${i + 1}`);
    mkdirSync(dir, { recursive: true });
    const [amqp, mqtt, management, distribution] = ports.slice(i * 4, i * 4 + 4) as [number, number, number, number];
    return new ClusterNode(options.server, dir, `${options.namePrefix}-${i + 1}@localhost`, { amqp, mqtt, management, distribution }, cookie);
  });
  const cluster = { nodes, stop: async () => void (await Promise.all(nodes.map((node) => node.stop()))) };
  try {
    const started = await Promise.allSettled(nodes.map((node) => node.start()));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const [first, ...others] = nodes as [ClusterNode, ...ClusterNode[]];
    for (const node of others) {
      await node.ctl(['stop_app']);
      await node.ctl(['join_cluster', first.nodeName]);
      await node.ctl(['start_app']);
      await node.ctl(['await_startup']);
    }
    const status = JSON.parse(await first.ctl(['cluster_status', '--formatter', 'json'])) as { running_nodes?: string[] };
    const missing = nodes.filter((node) => !status.running_nodes?.includes(node.nodeName));
    if (missing.length > 0) {
      throw new DevstackError('start_failed', `RabbitMQ cluster: ${missing.map((node) => node.nodeName).join(', ')} not running in it`);
    }
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** `count` free TCP ports, all different (free ports asked for one by one may repeat). */
async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
