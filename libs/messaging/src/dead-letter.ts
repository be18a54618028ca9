import type { AsyncMessage, Connection } from 'rabbitmq-client';
import { closePublisher } from './connection';
import { bodyBytes } from './reading';
import { DEAD_LETTER_EXCHANGE, DEAD_LETTER_REASON_HEADER, TOPOLOGY } from './topology';

export interface DeadLetterPublisher {
  /**
   * Publishes `message` (its body and properties unchanged) to `tally.status.dead` with `reason` in
   * the `x-tally-reason` header; resolves once the broker has confirmed it. Ack the original after.
   */
  deadLetter(message: AsyncMessage, reason: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Dead-letters through a confirmed publish rather than a reject: a reject cannot carry a reason,
 * and the reason is what a person needs to act on.
 */
export function createDeadLetterPublisher(connection: Connection): DeadLetterPublisher {
  const publisher = connection.createPublisher({ confirm: true, ...TOPOLOGY });
  return {
    deadLetter: (message, reason) =>
      publisher.send(
        {
          exchange: DEAD_LETTER_EXCHANGE,
          routingKey: message.routingKey,
          durable: true,
          contentType: message.contentType,
          contentEncoding: message.contentEncoding,
          messageId: message.messageId,
          timestamp: message.timestamp,
          headers: {
            ...message.headers,
            [DEAD_LETTER_REASON_HEADER]: reason,
            'x-tally-original-exchange': message.exchange,
            'x-tally-original-routing-key': message.routingKey,
          },
        },
        bodyBytes(message.body),
      ),
    close: () => closePublisher(connection, publisher),
  };
}
