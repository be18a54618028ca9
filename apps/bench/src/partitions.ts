import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetDeviceIds } from '@tally/contract';
import { devstackDir, findRabbitMqServer, readState, startLocalRabbitMqCluster, type ClusterNode, type DevstackUrls } from '@tally/devstack';
import type { BenchContext } from './context';
import { measureQueueRun, type DrainResult } from './ingest';
import { round } from './stats';

/** The partition counts and processor counts compared, each over the same backlog. */
export const PARTITION_COUNTS = [1, 4, 16] as const;
export const PROCESSOR_COUNTS = [1, 2] as const;
/** Partitions on the three-node cluster: one per node. */
export const CLUSTER_PARTITIONS = 3;

export interface PartitionRun {
  partitions: number;
  processors: number;
  readings: number;
  /** Documents stored at the end (the harness checks it is `readings`). */
  stored: number;
  seconds: number;
  perSecond: number;
  /** CPU µs per reading of each processor (its share of the drain). */
  processorCpuMicros: number[];
  /** CPU µs per reading of each broker node (one on the devstack). */
  brokerCpuMicros: number[];
}

export interface PartitionsResult {
  devices: number;
  runs: PartitionRun[];
  /** With one processor: 4 partitions' drain over 1's, and broker CPU per reading, 4 over 1. */
  ratios: { fourToOneDrain: number; fourToOneBrokerCpu: number };
  /** Three nodes, three partitions, processors on two of them: each node's share of the broker CPU (not with `--quick`). */
  cluster: { run: PartitionRun; nodeShares: number[]; leaders: string[] } | undefined;
}

/**
 * The drain of the same backlog through 1, 4 and 16 partitions, by one and by two processors, on
 * the devstack's broker; then 3 partitions on a three-node cluster of the bench's own.
 */
export async function runPartitions(
  context: BenchContext,
  options: { readings: number; devices: number; processorNodeOptions: string; quick: boolean },
): Promise<PartitionsResult> {
  const devices = fleetDeviceIds(options.devices);
  const brokerPid = readState(devstackDir(context.root))?.services?.find((service) => service.name === 'rabbitmq')?.pids?.[0];
  if (brokerPid === undefined) throw new Error('The partitions phase measures the devstack\'s own RabbitMQ: start it with the devstack (not from AMQP_URL)');
  const runs: PartitionRun[] = [];
  for (const partitions of PARTITION_COUNTS) {
    for (const processors of PROCESSOR_COUNTS) {
      const { drain } = await measureQueueRun(context, {
        label: `partitions-${partitions}x${processors}`,
        transport: 'amqp',
        readings: options.readings,
        devices,
        partitions,
        processors,
        brokerPids: [brokerPid],
        env: {},
        nodeOptions: options.processorNodeOptions,
      });
      runs.push(partitionRun(partitions, processors, drain));
    }
  }
  const single = (partitions: number) => runs.find((run) => run.partitions === partitions && run.processors === 1) as PartitionRun;
  return {
    devices: devices.length,
    runs,
    ratios: {
      fourToOneDrain: round(single(4).perSecond / single(1).perSecond, 3),
      fourToOneBrokerCpu: round((single(4).brokerCpuMicros[0] as number) / (single(1).brokerCpuMicros[0] as number), 3),
    },
    cluster: options.quick ? undefined : await measureCluster(context, options, devices),
  };
}

function partitionRun(partitions: number, processors: number, drain: DrainResult): PartitionRun {
  const micros = (cpuSeconds: number) => round((cpuSeconds * 1e6) / drain.readings, 1);
  return {
    partitions,
    processors,
    readings: drain.readings,
    stored: drain.stored,
    seconds: drain.seconds,
    perSecond: drain.perSecond,
    processorCpuMicros: drain.processorCpuSeconds.map(micros),
    brokerCpuMicros: drain.brokerCpuSeconds.map(micros),
  };
}

/** Three nodes on this machine, three partitions, two processors each on a node of its own (as the fault suite's cluster test). */
async function measureCluster(
  context: BenchContext,
  options: { readings: number; processorNodeOptions: string },
  devices: readonly string[],
): Promise<PartitionsResult['cluster']> {
  const server = findRabbitMqServer();
  if (!server) throw new Error('The partitions phase starts RabbitMQ nodes of its own: install rabbitmq-server');
  const dir = mkdtempSync(join(tmpdir(), 'tally-bench-cluster-'));
  const removeDir = context.cleanup.defer(async () => rmSync(dir, { recursive: true, force: true }));
  const cluster = await startLocalRabbitMqCluster({ server, dir, namePrefix: `tally-bench-${process.pid}`, size: 3 });
  const stopCluster = context.cleanup.defer(() => cluster.stop());
  try {
    const [first] = cluster.nodes as [ClusterNode, ...ClusterNode[]];
    const urls: DevstackUrls = { ...context.urls, amqpUrl: first.amqpUrl, mqttUrl: first.mqttUrl, managementUrl: first.managementUrl };
    const pids = cluster.nodes.map((node) => Number(readFileSync(join(node.dir, 'rabbitmq.pid'), 'utf8').trim()));
    let leaders: string[] = [];
    const { drain } = await measureQueueRun(context, {
      label: 'partitions-cluster',
      transport: 'amqp',
      readings: options.readings,
      devices,
      partitions: CLUSTER_PARTITIONS,
      processors: 2,
      brokerPids: pids,
      urls,
      processorAmqpUrl: (vhostUrl, index) => {
        const url = new URL(vhostUrl);
        url.port = String(cluster.nodes[index + 1]?.ports.amqp);
        return url.toString();
      },
      onFilled: async (vhost) => {
        const rows = JSON.parse(await first.ctl(['list_queues', '-p', vhost, 'name', 'leader', '--formatter', 'json'])) as { name: string; leader: string }[];
        leaders = rows.filter(({ name }) => /^tally\.status\.\d+$/.test(name)).sort((a, b) => a.name.localeCompare(b.name)).map(({ name, leader }) => `${name}: ${leader}`);
      },
      env: {},
      nodeOptions: options.processorNodeOptions,
    });
    const run = partitionRun(CLUSTER_PARTITIONS, 2, drain);
    const total = drain.brokerCpuSeconds.reduce((sum, each) => sum + each, 0);
    return { run, nodeShares: drain.brokerCpuSeconds.map((each) => round(each / total, 3)), leaders };
  } finally {
    await stopCluster();
    await removeDir();
  }
}
