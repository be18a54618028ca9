import { Backoff } from '@tally/config';
import { connect, type Channel, type ChannelModel, type Message } from 'amqplib';
import { EventEmitter } from 'node:events';
import { AckWindow } from './ack-window';
import { RECONNECT_BACKOFF } from './connection';
import { fromAmqplib, type Delivery } from './delivery';
import { isAccessRefused, MessagingError } from './errors';
import { declareTopology, STATUS_QUEUE } from './topology';

export interface BatchConsumerOptions {
  /** `amqp://user:pass@host:port/vhost` */
  url: string;
  /** Shown in the management UI's connection list. */
  connectionName: string;
  /**
   * Most unacknowledged messages held at once; bounds the consumer's memory.
   * @default 1000
   */
  prefetch?: number;
  /** A batch is handed over as soon as this many messages wait. */
  batchSize: number;
  /** …or at most this long after its first message arrived. */
  maxWaitMs: number;
  /**
   * Batches handled at once: while one is being written, the next can be.
   * @default 2
   */
  concurrency?: number;
  /**
   * Handles one batch, in delivery order. Resolve once every message of it is settled (stored, or
   * dead-lettered): the batch is then acknowledged. Resolve with some of its messages to return
   * only those to the queue (the rest are acknowledged); reject to return the whole batch.
   */
  handleBatch(messages: readonly Delivery[]): Promise<void | readonly Delivery[]>;
}

export interface BatchConsumerEvents {
  /** Subscribed to the queue (at start, and again after every reconnect). */
  ready: [];
  /** No longer subscribed (channel or connection lost); it resubscribes by itself. */
  down: [error: Error | undefined];
  /**
   * A failure, retried by itself. A failed subscription is a `MessagingError`: code
   * `access_refused` when the broker refused the credentials or vhost (retrying is unlikely to help).
   */
  error: [error: Error];
}

/** One connection, its channel, and the consumer on it: all three are lost together. */
interface Subscription {
  connection: ChannelModel;
  channel: Channel;
  consumerTag?: string;
  /** Which of this channel's deliveries can be acknowledged. */
  acks: AckWindow;
}

interface Batch {
  subscription: Subscription;
  messages: Delivery[];
}

/** A broker that accepts the TCP connection but does not answer is given up on after this long. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Consumes `tally.status` in batches with manual acks: each batch is acknowledged with a single
 * `basic.ack multiple` once it and every batch delivered before it are settled — one frame per
 * batch instead of one per message, which is most of what the broker and the consumer spend per
 * message. The topology is declared before subscribing, and again after every reconnect; a batch
 * whose connection is gone by the time it settles is not acknowledged (the broker delivers its
 * messages again, and the handler must absorb the copies).
 *
 * It consumes over a connection of its own, with amqplib where the rest of Tally uses
 * rabbitmq-client: amqplib hands over a message for about a third of the CPU (rabbitmq-client
 * decodes each frame through promises, and JSON-parses `application/json` bodies), and the
 * consumer's share is most of what the processor spends per reading. A connection of its own also
 * keeps acks flowing while RabbitMQ blocks the connections that publish (flow control).
 */
export class BatchConsumer extends EventEmitter<BatchConsumerEvents> {
  readonly #options: Required<BatchConsumerOptions>;
  #current: Subscription | undefined;
  #collecting: Delivery[] = [];
  #collectTimer: NodeJS.Timeout | undefined;
  #waiting: Batch[] = [];
  #handling = new Set<Promise<void>>();
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #retry = new Backoff(RECONNECT_BACKOFF);
  #closing = false;

  constructor(options: BatchConsumerOptions) {
    super();
    this.#options = { prefetch: 1000, concurrency: 2, ...options };
    this.#subscribe();
  }

  /** True while subscribed to the queue: what a readiness probe should report. */
  get consuming(): boolean {
    return this.#current?.consumerTag !== undefined;
  }

  /**
   * Stops taking messages, hands over what was received, waits until every batch is settled and
   * acknowledged, and closes the connection. What is not settled when the caller stops waiting
   * stays unacknowledged, and the broker delivers it again.
   */
  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    const subscription = this.#current;
    if (subscription?.consumerTag !== undefined) {
      await subscription.channel.cancel(subscription.consumerTag).catch(() => undefined);
      subscription.consumerTag = undefined;
    }
    this.#seal();
    while (this.#handling.size > 0) await Promise.all(this.#handling);
    if (subscription !== undefined && subscription === this.#current) {
      this.#current = undefined;
      // The channel first: its close follows its last ack on the wire, and the broker confirms it
      // once it has processed both. (amqplib sends each channel's frames from a buffer of its own,
      // so a connection.close could overtake the ack.)
      await subscription.channel.close().catch(() => undefined);
      await subscription.connection.close().catch(() => undefined);
    }
  }

  #subscribe(): void {
    this.#retryTimer = undefined;
    this.#setUp().then(
      () => {
        this.#retry.reset();
        this.emit('ready');
      },
      (error: unknown) => {
        if (this.#closing) return;
        const code = isAccessRefused(error) ? 'access_refused' : 'subscribe_failed';
        this.emit('error', new MessagingError(code, `cannot subscribe to ${STATUS_QUEUE}: ${(error as Error).message}`, { cause: error }));
        this.#resubscribeLater();
      },
    );
  }

  async #setUp(): Promise<void> {
    const connection = await connect(this.#options.url, {
      noDelay: true, // one ack per batch: Nagle's algorithm would hold each back
      timeout: CONNECT_TIMEOUT_MS,
      clientProperties: { connection_name: this.#options.connectionName },
    });
    connection.on('error', (error: Error) => this.emit('error', error));
    try {
      const channel = await connection.createChannel();
      const subscription: Subscription = { connection, channel, acks: new AckWindow() };
      this.#current = subscription;
      connection.once('close', () => this.#lost(subscription));
      channel.once('close', () => this.#lost(subscription));
      channel.on('error', (error: Error) => this.emit('error', error));
      await declareTopology(channel);
      await channel.prefetch(this.#options.prefetch);
      const { consumerTag } = await channel.consume(STATUS_QUEUE, (message) => {
        // null: the server cancelled the consumer (its queue was deleted, or lost its leader).
        if (message === null) this.#lost(subscription);
        else this.#receive(subscription, fromAmqplib(message));
      });
      subscription.consumerTag = consumerTag;
      if (this.#closing || subscription !== this.#current) throw new Error('closed while subscribing');
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }

  /** The connection or channel closed, or the consumer was cancelled: subscribe again, afresh. */
  #lost(subscription: Subscription): void {
    if (subscription !== this.#current) return;
    this.#current = undefined;
    const wasConsuming = subscription.consumerTag !== undefined;
    // Not yet handled: dropped here, delivered again by the broker (to us or to another consumer).
    clearTimeout(this.#collectTimer);
    this.#collectTimer = undefined;
    this.#collecting = [];
    this.#waiting = [];
    subscription.connection.close().catch(() => undefined);
    if (this.#closing) return;
    if (wasConsuming) this.emit('down', undefined);
    this.#resubscribeLater();
  }

  #resubscribeLater(): void {
    if (this.#closing || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => this.#subscribe(), this.#retry.next());
  }

  #receive(subscription: Subscription, message: Delivery): void {
    if (subscription !== this.#current) return;
    this.#collecting.push(message);
    if (this.#collecting.length >= this.#options.batchSize) this.#seal();
    else this.#collectTimer ??= setTimeout(() => this.#seal(), this.#options.maxWaitMs);
  }

  /** Closes the batch being collected and queues it for handling. */
  #seal(): void {
    clearTimeout(this.#collectTimer);
    this.#collectTimer = undefined;
    const messages = this.#collecting;
    const subscription = this.#current;
    if (messages.length === 0 || subscription === undefined) return;
    this.#collecting = [];
    subscription.acks.open(lastTag(messages));
    this.#waiting.push({ subscription, messages });
    this.#handleWaiting();
  }

  #handleWaiting(): void {
    while (this.#handling.size < this.#options.concurrency && this.#waiting.length > 0) {
      const batch = this.#waiting.shift() as Batch;
      const handling: Promise<void> = this.#handle(batch).finally(() => {
        this.#handling.delete(handling);
        this.#handleWaiting();
      });
      this.#handling.add(handling);
    }
  }

  async #handle({ subscription, messages }: Batch): Promise<void> {
    let unsettled: readonly Delivery[];
    try {
      unsettled = (await this.#options.handleBatch(messages)) ?? [];
    } catch (error) {
      unsettled = messages;
      this.emit('error', error as Error);
    }
    // A batch of a lost connection cannot be acknowledged: its tags mean nothing on a new one.
    if (subscription !== this.#current) return;
    const { channel, acks } = subscription;
    try {
      let outcome: 'ack' | 'nack' = 'ack';
      if (unsettled.length > 0) {
        // Settled one by one: an ack `multiple` naming this batch would name a tag nacked here.
        outcome = 'nack';
        const requeue = new Set(unsettled);
        for (const message of messages) {
          if (requeue.has(message)) channel.nack(tagged(message.deliveryTag), false, true);
          else channel.ack(tagged(message.deliveryTag));
        }
      }
      const ackUpTo = acks.settle(lastTag(messages), outcome);
      if (ackUpTo !== undefined) channel.ack(tagged(ackUpTo), true);
    } catch (error) {
      // The channel closed under us: its messages come back, and `#lost` runs.
      this.emit('error', error as Error);
    }
  }
}

function lastTag(messages: readonly Delivery[]): number {
  return (messages.at(-1) as Delivery).deliveryTag;
}

/** What amqplib's `ack` and `nack` read of a message: its delivery tag (and, with `allUpTo`, every one before). */
function tagged(deliveryTag: number): Message {
  return { fields: { deliveryTag } } as Message;
}

export function createBatchConsumer(options: BatchConsumerOptions): BatchConsumer {
  return new BatchConsumer(options);
}
