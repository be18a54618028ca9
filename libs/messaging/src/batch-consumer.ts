import { EventEmitter } from 'node:events';
import type { AsyncMessage, Channel, Connection } from 'rabbitmq-client';
import { AckWindow } from './ack-window';
import { ensureTopology, STATUS_QUEUE } from './topology';

export interface BatchConsumerOptions {
  connection: Connection;
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
   * dead-lettered): the batch is then acknowledged. Reject to return the whole batch to the queue.
   */
  handleBatch(messages: readonly AsyncMessage[]): Promise<void>;
}

export interface BatchConsumerEvents {
  /** Subscribed to the queue (at start, and again after every reconnect). */
  ready: [];
  /** No longer subscribed (channel or connection lost); it resubscribes by itself. */
  down: [error: Error | undefined];
  error: [error: Error];
}

interface Batch {
  channel: Channel;
  messages: AsyncMessage[];
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;

/**
 * Consumes `tally.status` in batches with manual acks: each batch is acknowledged with a single
 * `basic.ack multiple` once it and every batch delivered before it are settled — one frame per
 * batch instead of one per message, which is most of what the broker and the consumer spend per
 * message. The topology is declared before subscribing, and again after every reconnect; a batch
 * whose channel is gone by the time it settles is not acknowledged (the broker delivers its
 * messages again, and the handler must absorb the copies).
 */
export class BatchConsumer extends EventEmitter<BatchConsumerEvents> {
  readonly #options: Required<BatchConsumerOptions>;
  #channel: Channel | undefined;
  #consumerTag: string | undefined;
  #acks = new AckWindow();
  #collecting: AsyncMessage[] = [];
  #collectTimer: NodeJS.Timeout | undefined;
  #waiting: Batch[] = [];
  #handling = new Set<Promise<void>>();
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = RETRY_MIN_MS;
  #closing = false;

  constructor(options: BatchConsumerOptions) {
    super();
    this.#options = { prefetch: 1000, concurrency: 2, ...options };
    this.#subscribe();
  }

  /** True while subscribed to the queue: what a readiness probe should report. */
  get consuming(): boolean {
    return this.#consumerTag !== undefined && this.#channel?.active === true;
  }

  /**
   * Stops taking messages, hands over what was received, waits until every batch is settled and
   * acknowledged, and closes the channel. What is not settled when the caller stops waiting stays
   * unacknowledged, and the broker delivers it again.
   */
  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    const channel = this.#channel;
    if (channel?.active && this.#consumerTag !== undefined) {
      await channel.basicCancel({ consumerTag: this.#consumerTag }).catch(() => undefined);
    }
    this.#consumerTag = undefined;
    this.#seal();
    while (this.#handling.size > 0) await Promise.all(this.#handling);
    if (channel?.active) await channel.close().catch(() => undefined);
  }

  #subscribe(): void {
    this.#retryTimer = undefined;
    this.#setUp().then(
      () => {
        this.#retryDelay = RETRY_MIN_MS;
        this.emit('ready');
      },
      (error: unknown) => {
        // A connection closed by its owner is final (rabbitmq-client's code "CLOSING").
        if (this.#closing || (error as { code?: unknown }).code === 'CLOSING') return;
        this.emit('error', new Error(`cannot subscribe to ${STATUS_QUEUE}: ${(error as Error).message}`, { cause: error }));
        this.#channel?.close().catch(() => undefined);
        this.#resubscribeLater();
      },
    );
  }

  async #setUp(): Promise<void> {
    await ensureTopology(this.#options.connection);
    const channel = await this.#options.connection.acquire({ emitErrorsFromChannel: true });
    this.#channel = channel;
    this.#acks = new AckWindow();
    channel.on('error', (error: Error) => this.emit('error', error));
    channel.once('close', () => this.#lost(channel));
    await channel.basicQos({ prefetchCount: this.#options.prefetch });
    const { consumerTag } = await channel.basicConsume({ queue: STATUS_QUEUE }, (message) =>
      this.#receive(channel, message),
    );
    // The server cancels a consumer whose queue was deleted or lost its leader. Subscribe again at
    // once on a new channel; closing this one (which returns its unacked messages) may take a while.
    channel.once('basic.cancel', () => {
      this.#lost(channel);
      channel.close().catch(() => undefined);
    });
    if (this.#closing) await channel.basicCancel({ consumerTag });
    else this.#consumerTag = consumerTag;
  }

  #lost(channel: Channel): void {
    if (channel !== this.#channel) return;
    this.#channel = undefined;
    this.#consumerTag = undefined;
    // Not yet handled: dropped here, delivered again by the broker (to us or to another consumer).
    clearTimeout(this.#collectTimer);
    this.#collectTimer = undefined;
    this.#collecting = [];
    this.#waiting = [];
    if (this.#closing) return;
    this.emit('down', undefined);
    this.#resubscribeLater();
  }

  #resubscribeLater(): void {
    if (this.#closing || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => this.#subscribe(), this.#retryDelay);
    this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
  }

  #receive(channel: Channel, message: AsyncMessage): void {
    if (channel !== this.#channel) return;
    this.#collecting.push(message);
    if (this.#collecting.length >= this.#options.batchSize) this.#seal();
    else this.#collectTimer ??= setTimeout(() => this.#seal(), this.#options.maxWaitMs);
  }

  /** Closes the batch being collected and queues it for handling. */
  #seal(): void {
    clearTimeout(this.#collectTimer);
    this.#collectTimer = undefined;
    const messages = this.#collecting;
    const channel = this.#channel;
    if (messages.length === 0 || channel === undefined) return;
    this.#collecting = [];
    this.#acks.open(lastTag(messages));
    this.#waiting.push({ channel, messages });
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

  async #handle({ channel, messages }: Batch): Promise<void> {
    let settled = true;
    try {
      await this.#options.handleBatch(messages);
    } catch (error) {
      settled = false;
      this.emit('error', error as Error);
    }
    // A batch of a lost channel cannot be acknowledged: its tags mean nothing on a new one.
    if (channel !== this.#channel || !channel.active) return;
    try {
      if (!settled) for (const { deliveryTag } of messages) channel.basicNack({ deliveryTag, requeue: true });
      const ackUpTo = this.#acks.settle(lastTag(messages), settled ? 'ack' : 'nack');
      if (ackUpTo !== undefined) channel.basicAck({ deliveryTag: ackUpTo, multiple: true });
    } catch (error) {
      // The channel closed under us: its messages come back, and `#lost` has already run.
      this.emit('error', error as Error);
    }
  }
}

function lastTag(messages: readonly AsyncMessage[]): number {
  return (messages.at(-1) as AsyncMessage).deliveryTag;
}

export function createBatchConsumer(options: BatchConsumerOptions): BatchConsumer {
  return new BatchConsumer(options);
}
