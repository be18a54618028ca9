import type { ChannelModel } from 'amqplib';
import type { Connection } from 'rabbitmq-client';
import { STATUS_TOPIC } from '@tally/contract';

/** The exchange every reading enters through; RabbitMQ's MQTT plugin publishes here too. */
export const READINGS_EXCHANGE = 'amq.topic';
/** Routing key of readings without a device (MQTT topic `status`); a device's are `status.<device>` (`routingKeyFor`). */
export const READING_ROUTING_KEY = STATUS_TOPIC;
/** MQTT topic of readings without a device; a device's are `status/<device>` (`mqttTopicFor`). */
export const READING_MQTT_TOPIC = STATUS_TOPIC;
/** Durable quorum queue the processor consumes. */
export const STATUS_QUEUE = 'tally.status';
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
  type: 'direct' | 'fanout' | 'topic' | 'headers';
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
export interface Topology {
  exchanges: Exchange[];
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

/** `tally.status` as versions before the delivery limit declared it; still consumed as it is (see `ensureTopology`). */
export const LEGACY_STATUS_QUEUE_DECLARATION: Queue = {
  queue: STATUS_QUEUE,
  durable: true,
  arguments: {
    'x-queue-type': 'quorum',
    'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE,
    // Dead-lettering that cannot lose a message (it needs reject-publish overflow).
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  },
};

export const STATUS_QUEUE_DECLARATION: Queue = {
  ...LEGACY_STATUS_QUEUE_DECLARATION,
  arguments: {
    ...LEGACY_STATUS_QUEUE_DECLARATION.arguments,
    'x-delivery-limit': DELIVERY_LIMIT,
    'x-dead-letter-routing-key': BROKER_DEAD_LETTER_ROUTING_KEY,
  },
};

export const DEAD_LETTER_BINDING: Binding = { queue: DEAD_LETTER_QUEUE, exchange: DEAD_LETTER_EXCHANGE, routingKey: '' };

export const STATUS_BINDING: Binding = {
  queue: STATUS_QUEUE,
  exchange: READINGS_EXCHANGE,
  routingKey: `${READING_ROUTING_KEY}.#`,
};

/**
 * Tally's topology as data: the one declaration, applied by whichever client connects —
 * `ensureTopology` (rabbitmq-client) and `declareTopology` (amqplib). Declaring is idempotent;
 * changing an argument of an existing queue is not (RabbitMQ refuses it), so these values are part
 * of the contract.
 */
export const TOPOLOGY: Topology = {
  exchanges: [DEAD_LETTER_EXCHANGE_DECLARATION],
  queues: [DEAD_LETTER_QUEUE_DECLARATION, STATUS_QUEUE_DECLARATION],
  queueBindings: [DEAD_LETTER_BINDING, STATUS_BINDING],
};

/** The dead-letter exchange and queue alone: what a publisher of dead letters declares. */
export const DEAD_LETTER_TOPOLOGY: Topology = {
  exchanges: [DEAD_LETTER_EXCHANGE_DECLARATION],
  queues: [DEAD_LETTER_QUEUE_DECLARATION],
  queueBindings: [DEAD_LETTER_BINDING],
};

/** `TOPOLOGY` with `tally.status` as an earlier version declared it. */
const LEGACY_TOPOLOGY: Topology = {
  ...TOPOLOGY,
  queues: [DEAD_LETTER_QUEUE_DECLARATION, LEGACY_STATUS_QUEUE_DECLARATION],
};

/**
 * `legacy`: `tally.status` was declared by a version before the delivery limit, and RabbitMQ
 * cannot add an argument to an existing queue. It is used as it is; a policy gives it the limit
 * (`LEGACY_QUEUE_POLICY`).
 */
export type DeclaredTopology = 'current' | 'legacy';

/** What an operator runs once to give a legacy `tally.status` the delivery limit without redeclaring it. */
export const LEGACY_QUEUE_POLICY =
  `rabbitmqctl set_policy --apply-to queues tally-status-delivery-limit '^tally\\.status$' ` +
  `'{"delivery-limit": ${DELIVERY_LIMIT}, "dead-letter-routing-key": "${BROKER_DEAD_LETTER_ROUTING_KEY}"}'`;

/** Declares the topology once, over `connection`. Safe to repeat. */
export function ensureTopology(connection: Connection): Promise<DeclaredTopology> {
  return declareCurrentOrLegacy(async (topology) => {
    for (const exchange of topology.exchanges) await connection.exchangeDeclare(exchange);
    for (const queue of topology.queues) await connection.queueDeclare(queue);
    for (const binding of topology.queueBindings) await connection.queueBind(binding);
  });
}

/**
 * Declares the topology once, over a channel of its own on an amqplib `connection` (a refused
 * declaration closes its channel). Safe to repeat.
 */
export function declareTopology(connection: ChannelModel): Promise<DeclaredTopology> {
  return declareCurrentOrLegacy(async (topology) => {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined); // a refusal also rejects the declaration, which is what is handled
    for (const { exchange, type, durable } of topology.exchanges) await channel.assertExchange(exchange, type, { durable });
    for (const { queue, durable, arguments: args } of topology.queues) await channel.assertQueue(queue, { durable, arguments: args });
    for (const { queue, exchange, routingKey } of topology.queueBindings) await channel.bindQueue(queue, exchange, routingKey);
    await channel.close();
  });
}

/** `declare(TOPOLOGY)`; `declare(LEGACY_TOPOLOGY)` instead when RabbitMQ refuses it for a `tally.status` of an earlier version. */
async function declareCurrentOrLegacy(declare: (topology: Topology) => Promise<void>): Promise<DeclaredTopology> {
  try {
    await declare(TOPOLOGY);
    return 'current';
  } catch (error) {
    if (!isLegacyQueueRefusal(error)) throw error;
    await declare(LEGACY_TOPOLOGY);
    return 'legacy';
  }
}

/** RabbitMQ's refusal to redeclare a `tally.status` that lacks the arguments this version added. */
export function isLegacyQueueRefusal(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const added = Object.keys(STATUS_QUEUE_DECLARATION.arguments).filter((name) => !(name in LEGACY_STATUS_QUEUE_DECLARATION.arguments));
  return (
    /PRECONDITION[-_]FAILED/.test(error.message) &&
    error.message.includes(`queue '${STATUS_QUEUE}'`) &&
    added.some((name) => error.message.includes(`inequivalent arg '${name}'`) && error.message.includes('but current is none'))
  );
}
