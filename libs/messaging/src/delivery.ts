import type { Message } from 'amqplib';

/**
 * A consumed message as Tally handles it, whichever AMQP client received it: no client's type
 * crosses this library's boundary.
 */
export interface Delivery {
  /** The body's bytes as sent. */
  body: Buffer;
  exchange: string;
  routingKey: string;
  /** The message's tag on the channel that delivered it: what acknowledges it. */
  deliveryTag: number;
  /** The broker delivered it before (to this consumer or another) without an ack. */
  redelivered: boolean;
  headers: Record<string, unknown>;
  contentType?: string;
  contentEncoding?: string;
  messageId?: string;
  /** Seconds since the epoch (AMQP's `timestamp` property). */
  timestamp?: number;
}

/** amqplib's message (consumed, or got with `basic.get`) as a `Delivery`. */
export function fromAmqplib({ content, fields, properties }: Message): Delivery {
  return {
    body: content,
    exchange: fields.exchange,
    routingKey: fields.routingKey,
    deliveryTag: fields.deliveryTag,
    redelivered: fields.redelivered,
    headers: (properties.headers ?? {}) as Record<string, unknown>,
    contentType: properties.contentType as string | undefined,
    contentEncoding: properties.contentEncoding as string | undefined,
    messageId: properties.messageId as string | undefined,
    timestamp: properties.timestamp as number | undefined,
  };
}
