import type { RunningApp } from '@tally/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { longestIngestPause } from './ingest-pause';
import { PARTITION_QUEUES } from './test/amqp';
import { PrivateCluster, type QueueReplicas } from './test/cluster';
import { pollUntil, Scenario, scenarioPerTest } from './test/scenario';

/** 100 readings a second, from the start of the broadcast until both nodes are back. */
const INTERVAL_MS = 10;

let cluster: PrivateCluster | undefined;

beforeAll(async () => {
  cluster = await PrivateCluster.start(3);
});

const perTest = scenarioPerTest();

afterAll(async () => {
  await cluster?.dispose();
});

const consumingLines = (app: RunningApp) => app.lines.filter((line) => line.msg === 'consuming').length;

describe('a three-node RabbitMQ cluster', () => {
  it('spreads the partitions\' leaders over the nodes; loses the node that leads the first, then the broadcaster\'s node, mid-stream: every reading stored once, the partitions empty', async () => {
    const c = cluster as PrivateCluster;
    const s = perTest(await Scenario.create('faults-cluster', { broker: c }));
    const vhostUrl = s.env.AMQP_URL;
    // Each app starts on a node of its own and lists the others to fail over to.
    const processors = [
      await s.startProcessor({ AMQP_URL: c.amqpUrlList(vhostUrl, 1) }),
      await s.startProcessor({ AMQP_URL: c.amqpUrlList(vhostUrl, 2) }),
    ];
    const partitions = await Promise.all(PARTITION_QUEUES.map((queue) => c.replicas(s.vhost.name, queue)));
    console.log(`partition leaders: ${PARTITION_QUEUES.map((queue, i) => `${queue} on ${partitions[i]?.leader}`).join(', ')}`);
    for (const [i, partition] of partitions.entries()) {
      expect(partition.type, `${PARTITION_QUEUES[i]} is a quorum queue`).toBe('quorum');
      expect([...partition.members].sort(), `${PARTITION_QUEUES[i]} has a replica on every node`).toEqual(c.nodes.map((node) => node.nodeName).sort());
    }
    expect(new Set(partitions.map(({ leader }) => leader)).size, 'each partition led by another node').toBe(c.nodes.length);
    const [replicas] = partitions as [QueueReplicas];
    const STATUS_QUEUE = PARTITION_QUEUES[0] as string;

    // It broadcasts until both failovers are over, however long they take (on a loaded machine,
    // minutes): then it is stopped, and publishes what it holds before it exits. Fifty publishes in
    // flight, so that the three nodes' confirms keep up with 100 a second on a loaded machine
    // (one at a time, they once fell behind by more than the default buffer, an hour at 1 s), and
    // room for 500 s of readings, longer than the test may take. Its stop may find a backlog from
    // the second node's outage: a minute to publish it, not the default 3 s, which a loaded
    // machine's broker could miss.
    const broadcaster = s.startBroadcaster(['--transport', 'amqp', '--interval', String(INTERVAL_MS), '--window', '50'], {
      AMQP_URL: c.amqpUrlList(vhostUrl, 0),
      BROADCAST_BUFFER_LIMIT: '100000',
      BROADCAST_STOP_TIMEOUT_MS: '60000',
    });
    const broadcasting = await broadcaster.waitForLog('broadcasting');
    const startedBy = Date.parse(String(broadcasting['time']));
    expect(await pollUntil(async () => (await s.storedCount()) >= 500, 30_000), 'readings stored before the fault').toBe(true);

    const leader = c.node(replicas.leader);
    const leaderIndex = c.nodes.indexOf(leader);
    // The app that connected to the leader's node first: it loses its connection with the node.
    const onLeader: RunningApp = leaderIndex === 0 ? broadcaster : (processors[leaderIndex - 1] as RunningApp);
    const consumingBefore = processors.map(consumingLines);

    const stoppedAt = new Date();
    await leader.stop();
    const storedWhileDown = await s.storedCount();
    // Ingest goes on without the node: a new leader is elected among the two left, and the app
    // that was connected to the lost node moves to another (a processor logs "consuming" again).
    expect(await pollUntil(async () => (await s.storedCount()) > storedWhileDown + 200, 60_000), 'storing again while the leader is down').toBe(
      true,
    );
    if (onLeader !== broadcaster) {
      const i = processors.indexOf(onLeader);
      expect(
        await pollUntil(async () => consumingLines(onLeader) > (consumingBefore[i] as number), 30_000),
        'the processor of the lost node consumes from another node',
      ).toBe(true);
    }
    const newLeader = (await c.replicas(s.vhost.name, STATUS_QUEUE)).leader;
    expect(newLeader, `another node leads ${STATUS_QUEUE}`).not.toBe(leader.nodeName);
    const restartedAt = new Date();

    await leader.start();
    expect(await pollUntil(async () => (await c.runningNodes()).includes(leader.nodeName), 60_000), 'the node rejoined').toBe(true);

    // Then the broadcaster's node (or, when that was the leader's, the next one): rabbitmq-client
    // moves to another host, and its readings keep arriving while the node is down.
    const second = c.nodes[leaderIndex === 0 ? 1 : 0] as (typeof c.nodes)[number];
    const secondStoppedAt = new Date();
    await second.stop();
    const storedWhileSecondDown = await s.storedCount();
    expect(
      await pollUntil(async () => (await s.storedCount()) > storedWhileSecondDown + 200, 60_000),
      'storing the broadcaster\'s new readings while its first node is down',
    ).toBe(true);
    const secondRestartedAt = new Date();
    await second.start();
    expect(await pollUntil(async () => (await c.runningNodes()).includes(second.nodeName), 60_000), 'the second node rejoined').toBe(true);

    await s.stopBroadcaster(broadcaster, { intervalMs: INTERVAL_MS, startedBy });
    const { stored } = await s.finish({ timeoutMs: 120_000 });

    const arrivals = stored.flatMap((doc) => (doc.receivedAt ? [doc.receivedAt] : []));
    const pause = longestIngestPause(
      arrivals.filter((at) => at < secondStoppedAt),
      stoppedAt,
    );
    const secondPause = longestIngestPause(arrivals, secondStoppedAt);
    const downMs = restartedAt.getTime() - stoppedAt.getTime();
    const secondDownMs = secondRestartedAt.getTime() - secondStoppedAt.getTime();
    console.log(
      `cluster failover: stopped ${leader.nodeName} (leader of ${STATUS_QUEUE}, ${onLeader === broadcaster ? 'the broadcaster' : 'a processor'} on it), ` +
        `${newLeader} led next: ingest paused ${pause?.ms} ms at most (${pause?.from.toISOString()} to ${pause?.to.toISOString()}), the node down ${downMs} ms; ` +
        `then stopped ${second.nodeName}: ingest paused ${secondPause?.ms} ms at most, the node down ${secondDownMs} ms; ${stored.length} readings stored once`,
    );
    expect(pause, 'readings arrived after the first stop').toBeDefined();
    expect(pause?.ms, 'ingest resumed while the leader\'s node was still down').toBeLessThan(downMs);
    expect(secondPause?.ms, 'ingest resumed while the second node was still down').toBeLessThan(secondDownMs);
  });
});
