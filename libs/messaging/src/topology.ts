import type { Channel } from 'amqplib';
import type { Connection } from 'rabbitmq-client';

/** The exchange every reading enters through; RabbitMQ's MQTT plugin publishes here too. */
export const READINGS_EXCHANGE = 'amq.topic';
/** Routing key of readings (MQTT topic `status`); devices may append `.<device>` (`status/<device>`). */
export const READING_ROUTING_KEY = 'status';
/** MQTT topic of readings: `status`, or `status/<device>`. */
export const READING_MQTT_TOPIC = 'status';
/** Durable quorum queue the processor consumes. */
export const STATUS_QUEUE = 'tally.status';
/** Exchange and queue for messages that can never be stored, each with its reason. */
export const DEAD_LETTER_EXCHANGE = 'tally.status.dead';
export const DEAD_LETTER_QUEUE = 'tally.status.dead';
/** Header carrying why a message was dead-lettered, e.g. `invalid_schema: status: expected ...`. */
export const DEAD_LETTER_REASON_HEADER = 'x-tally-reason';

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

export const DEAD_LETTER_QUEUE_DECLARATION: Queue = {
  queue: DEAD_LETTER_QUEUE,
  durable: true,
  arguments: { 'x-queue-type': 'quorum' },
};

export const STATUS_QUEUE_DECLARATION: Queue = {
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

export const DEAD_LETTER_BINDING: Binding = { queue: DEAD_LETTER_QUEUE, exchange: DEAD_LETTER_EXCHANGE, routingKey: '' };

export const STATUS_BINDING: Binding = {
  queue: STATUS_QUEUE,
  exchange: READINGS_EXCHANGE,
  routingKey: `${READING_ROUTING_KEY}.#`,
};

/**
 * Tally's topology as data: the one declaration, applied by whichever client connects —
 * `ensureTopology` (rabbitmq-client), `declareTopology` (amqplib), and rabbitmq-client's publishers,
 * which take it as it is and declare it again after every reconnect. Declaring is idempotent; changing an argument of an existing
 * queue is not (RabbitMQ refuses it), so these values are part of the contract.
 */
export const TOPOLOGY: Topology = {
  exchanges: [DEAD_LETTER_EXCHANGE_DECLARATION],
  queues: [DEAD_LETTER_QUEUE_DECLARATION, STATUS_QUEUE_DECLARATION],
  queueBindings: [DEAD_LETTER_BINDING, STATUS_BINDING],
};

/** Declares the topology once, over `connection`. Safe to repeat. */
export async function ensureTopology(connection: Connection): Promise<void> {
  for (const exchange of TOPOLOGY.exchanges) await connection.exchangeDeclare(exchange);
  for (const queue of TOPOLOGY.queues) await connection.queueDeclare(queue);
  for (const binding of TOPOLOGY.queueBindings) await connection.queueBind(binding);
}

/** Declares the topology once, over an amqplib `channel` (the processor's consumer). Safe to repeat. */
export async function declareTopology(channel: Channel): Promise<void> {
  for (const { exchange, type, durable } of TOPOLOGY.exchanges) await channel.assertExchange(exchange, type, { durable });
  for (const { queue, durable, arguments: args } of TOPOLOGY.queues) await channel.assertQueue(queue, { durable, arguments: args });
  for (const { queue, exchange, routingKey } of TOPOLOGY.queueBindings) await channel.bindQueue(queue, exchange, routingKey);
}
