import type { ChannelModel } from 'amqplib';
import type { Connection } from 'rabbitmq-client';
import { STATUS_TOPIC } from '@tally/contract';
import { HASH_EXCHANGE_TYPE, pluginMissing } from './broker-refusal';

/** The exchange every reading enters through; RabbitMQ's MQTT plugin publishes here too. */
export const READINGS_EXCHANGE = 'amq.topic';
/** Routing key of readings without a device (MQTT topic `status`); a device's are `status.<device>` (`routingKeyFor`). */
export const READING_ROUTING_KEY = STATUS_TOPIC;
/** MQTT topic of readings without a device; a device's are `status/<device>` (`mqttTopicFor`). */
export const READING_MQTT_TOPIC = STATUS_TOPIC;
/**
 * The exchange that spreads readings over the partitions: RabbitMQ's consistent-hash exchange
 * (plugin `rabbitmq_consistent_hash_exchange`), bound to `amq.topic` with `status.#`. It hashes the
 * routing key, which names the device (`status.<device>`), so each device's readings land in one
 * partition, in order; readings on the shared topic `status` (no device, or the device only in the
 * body) all hash alike, into one partition.
 */
export const PARTITION_EXCHANGE = 'tally.status.partitions';
/** Most partitions: a processor looks this far for partitions that a larger count left behind. */
export const MAX_PARTITIONS = 256;
/** The queue of partition `index` (from 0): `tally.status.<index>`. */
export function partitionQueue(index: number): string {
  return `tally.status.${index}`;
}
/** The queues of `partitions` partitions: `tally.status.0` … `tally.status.<partitions - 1>`. */
export function partitionQueues(partitions: number): string[] {
  return Array.from({ length: partitions }, (_, index) => partitionQueue(index));
}
/**
 * The one queue of versions before partitions, bound to `amq.topic` itself: a processor drains it
 * into the store and deletes it (see `retiredQueues`).
 */
export const UNPARTITIONED_QUEUE = 'tally.status';
/** Exchange and queue for messages that can never be stored, each with its reason. */
export const DEAD_LETTER_EXCHANGE = 'tally.status.dead';
export const DEAD_LETTER_QUEUE = 'tally.status.dead';
/** Header carrying why a message was dead-lettered, e.g. `invalid_schema: status: expected ...`. */
export const DEAD_LETTER_REASON_HEADER = 'x-tally-reason';
/**
 * Deliveries of one message without an ack (consumers lost, or requeued) after which the broker
 * dead-letters it (`x-death` reason `delivery_limit`): a message that no consumer can take — one
 * whose routing key is too long for AMQP kills the consumer's connection — cannot stall the queue.
 * High enough that a reading in flight through many processor restarts is never taken for one.
 */
export const DELIVERY_LIMIT = 20;
/**
 * Routing key of what the broker dead-letters itself (the original is kept in `x-death`): every
 * message of the dead-letter queue can then be consumed over AMQP, whose routing keys are at most
 * 255 bytes.
 */
export const BROKER_DEAD_LETTER_ROUTING_KEY = 'delivery-limit';

/**
 * Fanout exchange on which the processor announces what each stored batch changed (`./changes`):
 * every API subscribes with a queue of its own (`CHANGE_FEED_QUEUE_OPTIONS`). Nothing is kept for
 * an API that is not listening: it reads the store for what it missed.
 */
export const CHANGES_EXCHANGE = 'tally.changes';

/** Tally's own shapes for what it declares (rabbitmq-client's publishers take them as they are). */
export interface Exchange {
  exchange: string;
  type: 'direct' | 'fanout' | 'topic' | 'headers' | typeof HASH_EXCHANGE_TYPE;
  durable: boolean;
}
export interface Queue {
  queue: string;
  durable: boolean;
  arguments: Record<string, string | number>;
}
export interface Binding {
  queue: string;
  exchange: string;
  routingKey: string;
}
export interface ExchangeBinding {
  source: string;
  destination: string;
  routingKey: string;
}
export interface Topology {
  exchanges: Exchange[];
  exchangeBindings: ExchangeBinding[];
  queues: Queue[];
  queueBindings: Binding[];
}

export const DEAD_LETTER_EXCHANGE_DECLARATION: Exchange = {
  exchange: DEAD_LETTER_EXCHANGE,
  type: 'fanout',
  durable: true,
};

export const CHANGES_EXCHANGE_DECLARATION: Exchange = {
  exchange: CHANGES_EXCHANGE,
  type: 'fanout',
  durable: true,
};

/** Announcements an API's queue holds at most: past it the oldest are dropped, so a stalled API costs the broker little. */
export const CHANGE_FEED_MAX_LENGTH = 1000;

/**
 * An API's own queue on `tally.changes`: named by the broker, gone with its connection, bounded.
 * Declared again after every reconnect (it is a new queue then).
 */
export const CHANGE_FEED_QUEUE_OPTIONS = {
  exclusive: true,
  autoDelete: true,
  durable: false,
  arguments: { 'x-max-length': CHANGE_FEED_MAX_LENGTH, 'x-overflow': 'drop-head' as const },
};

export const DEAD_LETTER_QUEUE_DECLARATION: Queue = {
  queue: DEAD_LETTER_QUEUE,
  durable: true,
  arguments: { 'x-queue-type': 'quorum' },
};

export const PARTITION_EXCHANGE_DECLARATION: Exchange = {
  exchange: PARTITION_EXCHANGE,
  type: HASH_EXCHANGE_TYPE,
  durable: true,
};

/** What every partition's queue is declared with: part of the contract (RabbitMQ refuses to change an argument). */
export const PARTITION_QUEUE_ARGUMENTS = {
  'x-queue-type': 'quorum',
  // Each new partition's leader on the node that leads the fewest queues: the partitions' work spreads over the cluster.
  'x-queue-leader-locator': 'balanced',
  'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE,
  // Dead-lettering that cannot lose a message (it needs reject-publish overflow).
  'x-dead-letter-strategy': 'at-least-once',
  'x-overflow': 'reject-publish',
  'x-delivery-limit': DELIVERY_LIMIT,
  'x-dead-letter-routing-key': BROKER_DEAD_LETTER_ROUTING_KEY,
} as const satisfies Queue['arguments'];

export const DEAD_LETTER_BINDING: Binding = { queue: DEAD_LETTER_QUEUE, exchange: DEAD_LETTER_EXCHANGE, routingKey: '' };

/** Every reading's routing key (`status`, `status.<device>`) into the partition exchange. */
export const PARTITION_EXCHANGE_BINDING: ExchangeBinding = {
  source: READINGS_EXCHANGE,
  destination: PARTITION_EXCHANGE,
  routingKey: `${READING_ROUTING_KEY}.#`,
};

/** A partition's binding: its routing key is its weight on the hash ring, the same for every partition. */
export function partitionBinding(queue: string): Binding {
  return { queue, exchange: PARTITION_EXCHANGE, routingKey: '1' };
}

/**
 * Tally's topology for `partitions` partitions, as data: the one declaration, applied by whichever
 * client connects — `ensureTopology` (rabbitmq-client) and `declareTopology` (amqplib), or spread
 * into a rabbitmq-client publisher. Declaring is idempotent and only adds: partitions that a
 * larger count declared are left to the processors to drain and delete (`retiredQueues`).
 */
export function readingsTopology(partitions: number): Topology {
  const queues = partitionQueues(partitions);
  return {
    exchanges: [DEAD_LETTER_EXCHANGE_DECLARATION, PARTITION_EXCHANGE_DECLARATION],
    exchangeBindings: [PARTITION_EXCHANGE_BINDING],
    // The partitions first: `balanced` counts every quorum queue's leader, and the dead-letter
    // queue (placed where its declarer is connected) would otherwise tip the count for them.
    queues: [...queues.map((queue) => ({ queue, durable: true, arguments: PARTITION_QUEUE_ARGUMENTS })), DEAD_LETTER_QUEUE_DECLARATION],
    queueBindings: [DEAD_LETTER_BINDING, ...queues.map(partitionBinding)],
  };
}

/** The dead-letter exchange and queue alone: what a publisher of dead letters declares. */
export const DEAD_LETTER_TOPOLOGY: Topology = {
  exchanges: [DEAD_LETTER_EXCHANGE_DECLARATION],
  exchangeBindings: [],
  queues: [DEAD_LETTER_QUEUE_DECLARATION],
  queueBindings: [DEAD_LETTER_BINDING],
};

/** Declares the topology of `partitions` partitions once, over `connection`. Safe to repeat. */
export async function ensureTopology(connection: Connection, partitions: number): Promise<void> {
  const topology = readingsTopology(partitions);
  try {
    for (const exchange of topology.exchanges) await connection.exchangeDeclare(exchange);
  } catch (error) {
    throw pluginMissing(error) ?? error;
  }
  for (const binding of topology.exchangeBindings) await connection.exchangeBind(binding);
  for (const queue of topology.queues) await connection.queueDeclare(queue);
  for (const binding of topology.queueBindings) await connection.queueBind(binding);
}

/**
 * Declares the topology of `partitions` partitions once, over a channel of its own on an amqplib
 * `connection` (a refused declaration closes its channel). Safe to repeat.
 */
export async function declareTopology(connection: ChannelModel, partitions: number): Promise<void> {
  const topology = readingsTopology(partitions);
  const channel = await connection.createChannel();
  channel.on('error', () => undefined); // a refusal also rejects the declaration, which is what is handled
  // An unknown exchange type closes the connection: its error says why, the rejection does not.
  let closedBy: unknown;
  const onError = (error: unknown) => (closedBy = error);
  connection.on('error', onError);
  try {
    for (const { exchange, type, durable } of topology.exchanges) await channel.assertExchange(exchange, type, { durable });
  } catch (error) {
    await new Promise((resolve) => setImmediate(resolve));
    throw pluginMissing(closedBy) ?? error;
  } finally {
    connection.off('error', onError);
  }
  for (const { source, destination, routingKey } of topology.exchangeBindings) await channel.bindExchange(destination, source, routingKey);
  for (const { queue, durable, arguments: args } of topology.queues) await channel.assertQueue(queue, { durable, arguments: args });
  for (const { queue, exchange, routingKey } of topology.queueBindings) await channel.bindQueue(queue, exchange, routingKey);
  await channel.close();
}
