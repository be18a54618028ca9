import type { AsyncMessage, Connection, Consumer } from 'rabbitmq-client';
import { DEAD_LETTER_EXCHANGE_DECLARATION, STATUS_BINDING, STATUS_QUEUE, STATUS_QUEUE_DECLARATION } from './topology';

export type { AsyncMessage, Consumer };

export interface StatusConsumerOptions {
  connection: Connection;
  /**
   * Most unacknowledged messages held at once; bounds the consumer's memory.
   * @default 1000
   */
  prefetch?: number;
  /**
   * Handles one message: the message is acknowledged when the returned promise resolves, and
   * returned to the queue when it rejects (so a handler should settle every message it can).
   */
  handle(message: AsyncMessage): Promise<void>;
}

/**
 * Consumes `tally.status` with manual acks and a bounded prefetch. The queue, its binding and its
 * dead-letter exchange are declared before consuming and again after every reconnect.
 */
export function createStatusConsumer({ connection, prefetch = 1000, handle }: StatusConsumerOptions): Consumer {
  return connection.createConsumer(
    {
      queue: STATUS_QUEUE,
      queueOptions: STATUS_QUEUE_DECLARATION,
      qos: { prefetchCount: prefetch },
      concurrency: prefetch,
      requeue: true,
      exchanges: [DEAD_LETTER_EXCHANGE_DECLARATION],
      queueBindings: [STATUS_BINDING],
    },
    (message) => handle(message),
  );
}
