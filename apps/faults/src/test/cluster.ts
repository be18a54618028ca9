import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findRabbitMqServer,
  managementFetch,
  startLocalRabbitMqCluster,
  type ClusterNode,
  type DevstackUrls,
  type LocalRabbitMqCluster,
} from '@tally/devstack';

export interface QueueReplicas {
  type: string;
  /** Node name of the queue's leader. */
  leader: string;
  /** Node names of every replica. */
  members: string[];
}

/** A three-node RabbitMQ cluster of the test's own, whose nodes it may stop and start again. */
export class PrivateCluster {
  private constructor(
    private readonly dir: string,
    private readonly cluster: LocalRabbitMqCluster,
  ) {}

  static async start(size = 3): Promise<PrivateCluster> {
    const server = findRabbitMqServer();
    if (!server) throw new Error('This test starts RabbitMQ nodes of its own: install rabbitmq-server');
    const dir = mkdtempSync(join(tmpdir(), 'tally-faults-cluster-'));
    try {
      const namePrefix = `tally-cluster-${process.pid}-${Date.now() % 100_000}`;
      return new PrivateCluster(dir, await startLocalRabbitMqCluster({ server, dir, namePrefix, size }));
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get nodes(): readonly ClusterNode[] {
    return this.cluster.nodes;
  }

  /** The first node's URLs (vhost "/"), for the scenario's own connection and management calls. */
  urls(mongodbUri: string): DevstackUrls {
    const [first] = this.nodes as [ClusterNode];
    return { amqpUrl: first.amqpUrl, mqttUrl: first.mqttUrl, managementUrl: first.managementUrl, mongodbUri };
  }

  /**
   * `AMQP_URL` for an app: every node's URL with the vhost of `vhostUrl`, comma-separated,
   * starting with node `first` (so the app connects there first, and fails over to the others).
   */
  amqpUrlList(vhostUrl: string, first: number): string {
    const nodes = this.nodes.map((_, i) => this.nodes[(first + i) % this.nodes.length] as ClusterNode);
    return nodes
      .map((node) => {
        const url = new URL(vhostUrl);
        url.port = String(node.ports.amqp);
        return url.toString();
      })
      .join(',');
  }

  /** The node whose name is `nodeName`. */
  node(nodeName: string): ClusterNode {
    const node = this.nodes.find((each) => each.nodeName === nodeName);
    if (!node) throw new Error(`No node ${nodeName} in the cluster`);
    return node;
  }

  /** Type, leader and replicas of `queue` in `vhost`, asked of a running node. */
  async replicas(vhost: string, queue: string): Promise<QueueReplicas> {
    const { type, leader, members } = await this.#management<QueueReplicas>(`/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`);
    return { type, leader, members };
  }

  /** Node names that a running node lists as running. */
  async runningNodes(): Promise<string[]> {
    if (!this.nodes.some((each) => each.running)) return [];
    const nodes = await this.#management<{ name: string; running: boolean }[]>('/nodes');
    return nodes.filter((node) => node.running).map((node) => node.name);
  }

  /**
   * GET `path` of a running node's management API: an HTTP request, where `rabbitmqctl` starts an
   * Erlang VM (about a second of CPU) for each question.
   */
  async #management<T>(path: string): Promise<T> {
    const node = this.nodes.find((each) => each.running);
    if (!node) throw new Error('No node of the cluster is running');
    const response = await managementFetch(node.managementUrl, path, { timeoutMs: 30_000 });
    if (!response.ok) throw new Error(`GET ${path} of ${node.nodeName}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  async dispose(): Promise<void> {
    await this.cluster.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
