import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetDeviceIds } from '@tally/contract';
import { devstackDir, findRabbitMqServer, readState, startLocalRabbitMqCluster, type ClusterNode, type DevstackUrls } from '@tally/devstack';
import type { BenchContext } from './context';
import { measureQueueRun, type DrainResult } from './ingest';
import { percentile, round } from './stats';

/** The partition counts and processor counts compared, each over the same backlog. */
export const PARTITION_COUNTS = [1, 4, 16] as const;
export const PROCESSOR_COUNTS = [1, 2] as const;
/** Partitions on the three-node cluster: one per node. */
export const CLUSTER_PARTITIONS = 3;
/**
 * Drains of 1 and of 4 partitions by one processor, one after the other, that the 4 ÷ 1 ratios are
 * the median of (the grid's pair among them; `--quick`: that pair alone). One drain of a backlog
 * takes seconds, so a single pair moves with whatever else the machine does meanwhile.
 */
export const RATIO_PAIRS = 5;

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
  /**
   * With one processor: 4 partitions' drain over 1's, and broker CPU per reading, 4 over 1: the
   * median over `pairs` (each 4 ÷ 1 of two drains run one after the other).
   */
  ratios: { fourToOneDrain: number; fourToOneBrokerCpu: number };
  /** Each pair's ratios, in the order run. */
  pairs: { drain: number; brokerCpu: number }[];
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
  const drainOnce = async (partitions: number, processors: number, pair = 0) => {
    const { drain } = await measureQueueRun(context, {
      label: `partitions-${partitions}x${processors}${pair > 0 ? `-pair${pair + 1}` : ''}`,
      transport: 'amqp',
      readings: options.readings,
      devices,
      partitions,
      processors,
      brokerPids: [brokerPid],
      env: {},
      nodeOptions: options.processorNodeOptions,
    });
    return partitionRun(partitions, processors, drain);
  };
  const runs: PartitionRun[] = [];
  for (const partitions of PARTITION_COUNTS) {
    for (const processors of PROCESSOR_COUNTS) runs.push(await drainOnce(partitions, processors));
  }
  const single = (partitions: number) => runs.find((run) => run.partitions === partitions && run.processors === 1) as PartitionRun;
  const pairs = [fourToOne(single(1), single(4))];
  for (let pair = 1; pair < (options.quick ? 1 : RATIO_PAIRS); pair++) pairs.push(fourToOne(await drainOnce(1, 1, pair), await drainOnce(4, 1, pair)));
  return {
    devices: devices.length,
    runs,
    ratios: { fourToOneDrain: median(pairs.map((pair) => pair.drain)), fourToOneBrokerCpu: median(pairs.map((pair) => pair.brokerCpu)) },
    pairs,
    cluster: options.quick ? undefined : await measureCluster(context, options, devices),
  };
}

function fourToOne(one: PartitionRun, four: PartitionRun): PartitionsResult['pairs'][number] {
  return {
    drain: round(four.perSecond / one.perSecond, 3),
    brokerCpu: round((four.brokerCpuMicros[0] as number) / (one.brokerCpuMicros[0] as number), 3),
  };
}

const median = (values: readonly number[]) => round(percentile(values, 50), 3);

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
