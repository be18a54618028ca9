import { Backoff, sleep } from '@tally/runtime';
import { EventEmitter } from 'node:events';
import { connect, type MqttClient } from 'mqtt';
import type { Connection } from 'rabbitmq-client';
import { brokerUrlList, mqttServers, type BrokerUrls } from './brokers';
import { closePublisher, RECONNECT_BACKOFF } from './connection';
import { mqttTopicFor, routingKeyFor, type Reading } from '@tally/contract';
import { encode } from './reading';
import { ensureTopology, READINGS_EXCHANGE } from './topology';

export type Transport = 'mqtt' | 'amqp';

export interface PublisherEvents {
  /** The broker became unreachable; emitted once per outage. */
  down: [error: Error];
  /** The broker is reachable again after a `down`. */
  up: [];
}

/** Publishes readings to Tally's exchange, whichever the transport. */
export interface ReadingPublisher extends EventEmitter<PublisherEvents> {
  readonly transport: Transport;
  /** Resolves once the broker has acknowledged the reading (publisher confirm, or PUBACK). */
  publish(reading: Reading): Promise<void>;
  /** Closes what this publisher opened (not the AMQP connection it was given). */
  close(): Promise<void>;
}

/** Emits `down` once when a connection to the broker is lost, and `up` once it is back. */
export class BrokerState extends EventEmitter<PublisherEvents> {
  #down = false;

  markDown(error: Error): void {
    if (this.#down) return;
    this.#down = true;
    this.emit('down', error);
  }

  markUp(): void {
    if (!this.#down) return;
    this.#down = false;
    this.emit('up');
  }
}

export interface AmqpPublisherOptions {
  transport: 'amqp';
  /** Connection the readings are published on; the caller owns it. */
  connection: Connection;
  /** The partitions declared before the first publish (`readingsTopology`). */
  partitions: number;
  /** Routing key of every reading. @default `status.<device>` for a reading with a device, else `status` */
  routingKey?: string;
}

export interface MqttPublisherOptions {
  transport: 'mqtt';
  /** AMQP connection used to declare the topology; the caller owns it. */
  connection: Connection;
  /** The partitions declared before the first publish (`readingsTopology`). */
  partitions: number;
  /**
   * `mqtt://user:pass@host:1883`; a vhost is picked with the user name `vhost:user`. Several (the
   * nodes of a cluster, differing only by host and port) are tried in turn, one per reconnect.
   */
  mqttUrl: BrokerUrls;
  /** @default "tally-<random>" */
  clientId?: string;
  /** Topic of every reading. @default `status/<device>` for a reading with a device, else `status` */
  topic?: string;
}

/**
 * A reading publisher over AMQP (publisher confirms, persistent messages) or MQTT 3.1.1 (QoS 1).
 * Either way the topology is declared over AMQP before the first publish and after every
 * reconnect: an MQTT QoS 1 publish that no queue is bound for is acknowledged and lost.
 */
export function createReadingPublisher(options: AmqpPublisherOptions | MqttPublisherOptions): ReadingPublisher {
  return options.transport === 'amqp' ? createAmqpPublisher(options) : createMqttPublisher(options);
}

/** Follows an AMQP connection's outages; the returned function stops following it. */
export function watchAmqp(connection: Connection, state: BrokerState): () => void {
  const onError = (error: Error) => state.markDown(error);
  const onConnection = () => state.markUp();
  connection.on('error', onError);
  connection.on('connection', onConnection);
  return () => {
    connection.off('error', onError);
    connection.off('connection', onConnection);
  };
}

function createAmqpPublisher({ connection, partitions, routingKey }: AmqpPublisherOptions): ReadingPublisher {
  const state = new BrokerState();
  const unwatch = watchAmqp(connection, state);
  const topology = declareOnEveryConnection(connection, partitions);
  const publisher = connection.createPublisher({ confirm: true });
  return Object.assign(state, {
    transport: 'amqp' as const,
    publish: async (reading: Reading) => {
      await topology.declared();
      await publisher.send(
        {
          exchange: READINGS_EXCHANGE,
          routingKey: routingKey ?? routingKeyFor(reading.device),
          durable: true,
          contentType: 'application/json',
          ...(reading.id !== undefined && { messageId: reading.id }),
        },
        encode(reading),
      );
    },
    close: async () => {
      unwatch();
      topology.stop();
      await closePublisher(connection, publisher);
    },
  });
}


function createMqttPublisher(options: MqttPublisherOptions): ReadingPublisher {
  const state = new BrokerState();
  // Credentials are passed decoded: a user name `vhost:user` arrives percent-encoded in a URL.
  const url = new URL(brokerUrlList(options.mqttUrl)[0] as string);
  const servers = mqttServers(options.mqttUrl);
  const credentials = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  url.username = '';
  url.password = '';
  // MQTT.js retries at a fixed period; setting the next period after each failed attempt gives a backoff.
  const reconnect = new Backoff(RECONNECT_BACKOFF);
  const client: MqttClient = connect(url.toString(), {
    ...credentials,
    ...(servers && { servers }),
    protocolVersion: 4,
    clean: true,
    clientId: options.clientId ?? `tally-${Math.random().toString(16).slice(2, 10)}`,
    reconnectPeriod: reconnect.next(),
    connectTimeout: 10_000,
  });
  let closed = false;
  client.on('close', () => {
    if (closed) return;
    client.options.reconnectPeriod = reconnect.next();
    state.markDown(new Error('MQTT connection closed'));
  });
  client.on('error', (error) => state.markDown(error));
  client.on('connect', () => {
    reconnect.reset();
    client.options.reconnectPeriod = reconnect.next();
    state.markUp();
  });

  const topology = declareOnEveryConnection(options.connection, options.partitions);
  const swallowAmqpErrors = () => undefined; // the MQTT side reports the outage
  options.connection.on('error', swallowAmqpErrors);

  return Object.assign(state, {
    transport: 'mqtt' as const,
    publish: async (reading: Reading) => {
      await topology.declared();
      await client.publishAsync(options.topic ?? mqttTopicFor(reading.device), encode(reading), { qos: 1 });
    },
    close: async () => {
      closed = true;
      topology.stop();
      options.connection.off('error', swallowAmqpErrors);
      await client.endAsync(true);
    },
  });
}

/**
 * Declares the topology before the first publish, and again whenever the AMQP connection comes
 * back: a publish with no queue bound (an MQTT QoS 1 one too) is acknowledged and lost.
 */
function declareOnEveryConnection(connection: Connection, partitions: number): { declared(): Promise<void>; stop(): void } {
  let stopped = false;
  const declare = () => {
    const done = declareUntilDone(connection, partitions, () => stopped);
    done.catch(() => undefined); // rejects only once stopped; a publish still waiting sees it
    return done;
  };
  let declared = declare();
  const redeclare = () => {
    declared = declare();
  };
  connection.on('connection', redeclare);
  return {
    declared: () => declared,
    stop: () => {
      stopped = true;
      connection.off('connection', redeclare);
    },
  };
}

/** Retries `ensureTopology` (the connection reconnects by itself) until it succeeds or `isClosed()`. */
async function declareUntilDone(connection: Connection, partitions: number, isClosed: () => boolean): Promise<void> {
  const backoff = new Backoff(RECONNECT_BACKOFF);
  for (;;) {
    try {
      await ensureTopology(connection, partitions);
      return;
    } catch (error) {
      if (isClosed()) throw error;
      await sleep(backoff.next());
    }
  }
}
