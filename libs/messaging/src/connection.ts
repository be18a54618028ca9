import type { BackoffOptions } from '@tally/runtime';
import { Connection, type Publisher } from 'rabbitmq-client';
import { amqpClientTarget, type BrokerUrls } from './brokers';

export interface AmqpConnectionOptions {
  /** `amqp://user:pass@host:port/vhost`, or the nodes of a cluster: each reconnect tries the next. */
  url: BrokerUrls;
  /** Shown in the management UI's connection list. */
  connectionName: string;
}

/**
 * Largest frame asked for: RabbitMQ's default `frame_max` (rabbitmq-client's own default is 8 KiB).
 * A message's headers travel in one frame, so this bounds the headers a client can send, and
 * what the dead-letter publisher can copy.
 */
export const FRAME_MAX = 131_072;

/**
 * How every Tally client retries a lost broker connection — rabbitmq-client's connections,
 * the amqplib consumer's resubscription and MQTT.js's reconnect: from 250 ms, doubling up to 5 s.
 */
export const RECONNECT_BACKOFF: BackoffOptions = { minMs: 250, maxMs: 5000 };

/**
 * A RabbitMQ connection that reconnects by itself (with `RECONNECT_BACKOFF`). Nagle's algorithm is
 * off: with it on, every awaited publisher confirm costs ~20 ms.
 */
export function createAmqpConnection({ url, connectionName }: AmqpConnectionOptions): Connection {
  const { minMs: retryLow, maxMs: retryHigh } = RECONNECT_BACKOFF;
  return new Connection({ ...amqpClientTarget(url), connectionName, noDelay: true, retryLow, retryHigh, frameMax: FRAME_MAX });
}

/**
 * Closes a publisher of `connection`. Closing waits for a channel, so with the broker unreachable
 * (there is no channel to close then) it would wait out the acquire timeout: it is skipped.
 */
export async function closePublisher(connection: Connection, publisher: Publisher): Promise<void> {
  if (connection.ready) await publisher.close();
}
