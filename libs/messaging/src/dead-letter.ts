import type { Connection } from 'rabbitmq-client';
import type { Delivery } from './batch-consumer';
import { closePublisher } from './connection';
import { DEAD_LETTER_EXCHANGE, DEAD_LETTER_REASON_HEADER, TOPOLOGY } from './topology';

export interface DeadLetterPublisher {
  /**
   * Publishes `message` (its body and properties unchanged) to `tally.status.dead` with `reason` in
   * the `x-tally-reason` header; resolves once the broker has confirmed it. Ack the original after.
   */
  deadLetter(message: Delivery, reason: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Dead-letters through a confirmed publish rather than a reject: a reject cannot carry a reason,
 * and the reason is what a person needs to act on.
 */
export function createDeadLetterPublisher(connection: Connection): DeadLetterPublisher {
  const publisher = connection.createPublisher({ confirm: true, ...TOPOLOGY });
  return {
    deadLetter: ({ content, fields, properties }, reason) =>
      publisher.send(
        {
          exchange: DEAD_LETTER_EXCHANGE,
          routingKey: fields.routingKey,
          durable: true,
          contentType: properties.contentType,
          contentEncoding: properties.contentEncoding,
          messageId: properties.messageId,
          timestamp: properties.timestamp,
          headers: {
            ...properties.headers,
            [DEAD_LETTER_REASON_HEADER]: reason,
            'x-tally-original-exchange': fields.exchange,
            'x-tally-original-routing-key': fields.routingKey,
          },
        },
        content,
      ),
    close: () => closePublisher(connection, publisher),
  };
}
