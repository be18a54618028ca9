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
 * A RabbitMQ connection that reconnects by itself (with backoff). Nagle's algorithm is off:
 * with it on, every awaited publisher confirm costs ~20 ms.
 */
export function createAmqpConnection({ url, connectionName }: AmqpConnectionOptions): Connection {
  return new Connection({ ...amqpClientTarget(url), connectionName, noDelay: true, retryHigh: 5000, frameMax: FRAME_MAX });
}

/**
 * Closes a publisher of `connection`. Closing waits for a channel, so with the broker unreachable
 * (there is no channel to close then) it would wait out the acquire timeout: it is skipped.
 */
export async function closePublisher(connection: Connection, publisher: Publisher): Promise<void> {
  if (connection.ready) await publisher.close();
}
