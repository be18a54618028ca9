import { fleetDeviceIds } from '@tally/contract';
import { createTestVhost } from '@tally/devstack';
import { createAmqpConnection, partitionQueue } from '@tally/messaging';
import { connect } from 'amqplib';
import type { BenchContext } from './context';
import { fillQueue } from './ingest';
import { startProgress } from './progress';
import { perSecond, round } from './stats';

/** The AMQP clients compared; the processor's consumer uses amqplib. */
export const CONSUMER_CLIENTS = ['rabbitmq-client', 'amqplib'] as const;
export type ConsumerClient = (typeof CONSUMER_CLIENTS)[number];

/** One partition: the client alone on one queue. */
const STATUS_QUEUE = partitionQueue(0);

/** As the processor consumes by default: PROCESSOR_PREFETCH messages in flight, one ack per BATCH_SIZE. */
export const CONSUMER_PREFETCH = 1000;
export const CONSUMER_ACK_EVERY = 500;

export interface ConsumerResult {
  client: ConsumerClient;
  readings: number;
  seconds: number;
  perSecond: number;
  /** The benchmark process's CPU time per message while it consumed (user + system). */
  cpuMicrosPerMessage: number;
}

/**
 * What each AMQP client costs to consume a queue of readings with nothing else to do: the floor
 * of the processor's CPU per reading, and why its consumer uses amqplib.
 */
export async function measureConsumers(context: BenchContext, readings: number, devices: number): Promise<ConsumerResult[]> {
  const results: ConsumerResult[] = [];
  const fleet = fleetDeviceIds(devices);
  for (const client of CONSUMER_CLIENTS) results.push(await measureConsumer(context, client, readings, fleet));
  return results;
}

async function measureConsumer(
  context: BenchContext,
  client: ConsumerClient,
  readings: number,
  devices: readonly string[],
): Promise<ConsumerResult> {
  const vhost = await createTestVhost(context.urls, 'bench');
  const dispose = context.cleanup.defer(() => vhost.dispose());
  try {
    await fillQueue(context, vhost, { label: client, transport: 'amqp', readings, devices, partitions: 1 });
    const progress = startProgress({ label: `${client}: consumes alone`, total: readings });
    try {
      const consume = client === 'amqplib' ? consumeWithAmqplib : consumeWithRabbitmqClient;
      const { seconds, cpuSeconds } = await consume(vhost.amqpUrl, readings, (count) => progress.update(count));
      const rate = perSecond(readings, seconds);
      const cpuMicrosPerMessage = round((cpuSeconds * 1e6) / readings, 1);
      progress.finish(`${rate.toLocaleString('en-US')} messages/s, ${cpuMicrosPerMessage} µs CPU each`);
      return { client, readings, seconds: round(seconds), perSecond: rate, cpuMicrosPerMessage };
    } finally {
      progress.abort();
    }
  } finally {
    await dispose();
  }
}

interface Timing {
  seconds: number;
  cpuSeconds: number;
}

/** Times a consumer from its subscription to its `count`th message. */
function timer(): { stop(): Timing } {
  const started = performance.now();
  const cpu = process.cpuUsage();
  return {
    stop: () => {
      const { user, system } = process.cpuUsage(cpu);
      return { seconds: (performance.now() - started) / 1000, cpuSeconds: (user + system) / 1e6 };
    },
  };
}

/**
 * Counts the deliveries of a consumer: every CONSUMER_ACK_EVERY-th and the `count`th are acked (the
 * `ack` given, with `multiple`) and reported. Returns true at the `count`th.
 */
function deliveryCounter(count: number, onProgress: (n: number) => void): (ack: () => void) => boolean {
  let received = 0;
  return (ack) => {
    if (++received % CONSUMER_ACK_EVERY === 0 || received === count) {
      ack();
      onProgress(received);
    }
    return received === count;
  };
}

async function consumeWithRabbitmqClient(url: string, count: number, onProgress: (n: number) => void): Promise<Timing> {
  const connection = createAmqpConnection({ url, connectionName: 'tally-bench-rabbitmq-client' });
  try {
    const channel = await connection.acquire();
    await channel.basicQos({ prefetchCount: CONSUMER_PREFETCH });
    const clock = timer();
    const delivered = deliveryCounter(count, onProgress);
    await new Promise<void>((resolve, reject) => {
      channel.on('close', () => reject(new Error('the channel closed while consuming')));
      channel.basicConsume({ queue: STATUS_QUEUE }, ({ deliveryTag }) => {
        if (delivered(() => channel.basicAck({ deliveryTag, multiple: true }))) resolve();
      }).catch(reject);
    });
    const timing = clock.stop();
    await channel.close();
    return timing;
  } finally {
    await connection.close();
  }
}

async function consumeWithAmqplib(url: string, count: number, onProgress: (n: number) => void): Promise<Timing> {
  const connection = await connect(url, { noDelay: true, clientProperties: { connection_name: 'tally-bench-amqplib' } });
  try {
    const channel = await connection.createChannel();
    await channel.prefetch(CONSUMER_PREFETCH);
    const clock = timer();
    const delivered = deliveryCounter(count, onProgress);
    await new Promise<void>((resolve, reject) => {
      channel.on('close', () => reject(new Error('the channel closed while consuming')));
      channel.consume(STATUS_QUEUE, (message) => {
        if (message === null) return reject(new Error('the consumer was cancelled'));
        if (delivered(() => channel.ack(message, true))) resolve();
      }).catch(reject);
    });
    const timing = clock.stop();
    await channel.close();
    return timing;
  } finally {
    await connection.close();
  }
}
