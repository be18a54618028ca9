import { Backoff } from '@tally/runtime';
import { connect, type Channel, type ChannelModel, type Message } from 'amqplib';
import { EventEmitter } from 'node:events';
import { AckWindow } from './ack-window';
import { UrlRotation, type BrokerUrls } from './brokers';
import { RECONNECT_BACKOFF } from './connection';
import { fromAmqplib, type Delivery } from './delivery';
import { isAccessRefused, MessagingError } from './errors';
import { deleteIfDrained, retiredQueues } from './retired-queues';
import { declareTopology, partitionQueues, UNPARTITIONED_QUEUE } from './topology';

export interface BatchConsumerOptions {
  /**
   * `amqp://user:pass@host:port/vhost`, or the nodes of a cluster: each connection attempt takes
   * the next, so a lost node is left for another at once.
   */
  url: BrokerUrls;
  /** Shown in the management UI's connection list. */
  connectionName: string;
  /**
   * The partitions readings are spread over (`tally.status.0` …): each is consumed, and those of a
   * larger count (and the unpartitioned `tally.status` of earlier versions) are drained and deleted.
   */
  partitions: number;
  /**
   * Most unacknowledged messages held at once from each queue consumed (quorum queues take a
   * prefetch per consumer, not per channel); bounds the consumer's memory.
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
  /**
   * Subscribed to every partition (at start, and again after every reconnect); `retired` names the
   * queues it drains besides (partitions of a larger count, the unpartitioned `tally.status`).
   */
  ready: [retired: readonly string[]];
  /** A retired queue was drained and deleted. */
  deleted: [queue: string];
  /** No longer subscribed (channel or connection lost); it resubscribes by itself. */
  down: [error: Error | undefined];
  /**
   * A failure, retried by itself. A failed subscription is a `MessagingError`: code
   * `access_refused` when the broker refused the credentials or vhost, `plugin_missing` when it
   * lacks the consistent-hash exchange (retrying is unlikely to help either way).
   * Emitted only while someone listens: nothing needs to be done about it.
   */
  error: [error: Error];
  /**
   * The broker closed the connection while it delivered (e.g. `541 INTERNAL_ERROR` for a routing
   * key AMQP cannot carry): the next `messages` are taken one at a time, so that only the message
   * that cannot be delivered keeps coming back, until the queue's delivery limit dead-letters it.
   */
  careful: [messages: number];
}

/** One connection, its channel, and the consumers on it: all are lost together. */
interface Subscription {
  connection: ChannelModel;
  channel: Channel;
  /** The queues consumed: every partition, then the retired queues still to drain. */
  queues: string[];
  retired: Set<string>;
  /** Each queue's consumer on this channel, while subscribed. */
  consumerTags: Map<string, string>;
  /** Taking messages one at a time with `basic.get` (see `careful`). */
  getting: boolean;
  /** Which of this channel's deliveries can be acknowledged. */
  acks: AckWindow;
  /** Why the broker closed the connection, if it did. */
  closedBy?: Error;
}

interface Batch {
  subscription: Subscription;
  messages: Delivery[];
}

/** A broker that accepts the TCP connection but does not answer is given up on after this long. */
const CONNECT_TIMEOUT_MS = 10_000;
/** AMQP's reply code for a broker that failed while it served the connection. */
const INTERNAL_ERROR = 541;
/** How often the retired queues are looked at, to delete those drained. */
const DRAIN_CHECK_MS = 1000;

/**
 * Consumes every partition `tally.status.<i>` over one channel, in batches with manual acks (a
 * batch mixes partitions; each partition's messages keep their order): each batch is acknowledged with a single
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
 *
 * A message the broker cannot deliver kills the connection each time it comes (RabbitMQ 3.10
 * closes it with 541 INTERNAL_ERROR for a routing key over 255 bytes, which MQTT allows). The
 * queue's delivery limit dead-letters it after `DELIVERY_LIMIT` such returns — but every message
 * delivered and unacknowledged beside it is returned too, and would reach the limit with it. So
 * after such a close the consumer takes the next `prefetch` messages (the window that was in
 * flight) one at a time: then only the message that cannot be delivered is ever returned, and it
 * is dead-lettered within `DELIVERY_LIMIT` quick reconnects. It takes them with `basic.get`, one
 * queue after another, so that one message is in flight at a time: a consumer per partition, even
 * at prefetch 1, would hold the head of every other partition too, and each would come back with it.
 *
 * Queues that readings no longer reach (a smaller partition count, or the unpartitioned queue of
 * earlier versions) are unbound, consumed like the others, and deleted once drained: nothing waits
 * in them and no consumer, of any processor, holds one of their messages unacknowledged.
 */
export class BatchConsumer extends EventEmitter<BatchConsumerEvents> {
  readonly #options: Required<BatchConsumerOptions>;
  readonly #urls: UrlRotation;
  #current: Subscription | undefined;
  #collecting: Delivery[] = [];
  #collectTimer: NodeJS.Timeout | undefined;
  #waiting: Batch[] = [];
  #handling = new Set<Promise<void>>();
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #retry = new Backoff(RECONNECT_BACKOFF);
  #closing = false;
  /** Messages still to take one at a time (`basic.get`, batches of one) after the broker closed a delivering connection. */
  #careful = 0;
  #drainTimer: NodeJS.Timeout | undefined;
  /** A look at the retired queues is under way (the next tick skips). */
  #lookingAtRetired = false;

  constructor(options: BatchConsumerOptions) {
    super();
    this.#options = { prefetch: 1000, concurrency: 2, ...options };
    this.#urls = new UrlRotation(options.url);
    this.#subscribe();
  }

  /** True while subscribed to the queue: what a readiness probe should report. */
  get consuming(): boolean {
    const subscription = this.#current;
    return subscription !== undefined && (subscription.getting || subscription.consumerTags.size > 0);
  }

  /**
   * Stops taking messages, hands over what was received, waits until every batch is settled and
   * acknowledged, and closes the connection. What is not settled when the caller stops waiting
   * stays unacknowledged, and the broker delivers it again.
   */
  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#drainTimer);
    const subscription = this.#current;
    if (subscription !== undefined) await this.#cancelAll(subscription);
    await this.#handleReceived();
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
      (retired) => {
        if (this.#closing) return;
        this.#retry.reset();
        this.emit('ready', retired);
      },
      (error: unknown) => {
        if (this.#closing) return;
        this.#report(error instanceof MessagingError ? error : subscribeFailure(error));
        this.#resubscribeLater();
      },
    );
  }

  #report(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  async #setUp(): Promise<readonly string[]> {
    const connection = await connect(this.#urls.next(), {
      noDelay: true, // one ack per batch: Nagle's algorithm would hold each back
      timeout: CONNECT_TIMEOUT_MS,
      clientProperties: { connection_name: this.#options.connectionName },
    });
    let closedBy: Error | undefined;
    connection.on('error', (error: Error) => {
      if ((error as { code?: unknown }).code === INTERNAL_ERROR) closedBy = error;
      this.#report(error);
    });
    try {
      await declareTopology(connection, this.#options.partitions);
      const retired = await retiredQueues(connection, this.#options.partitions);
      const channel = await connection.createChannel();
      if (this.#closing) throw new Error('closed while subscribing');
      const subscription: Subscription = {
        connection,
        channel,
        queues: [...partitionQueues(this.#options.partitions), ...retired],
        retired: new Set(retired),
        consumerTags: new Map(),
        getting: false,
        acks: new AckWindow(),
      };
      this.#current = subscription;
      connection.once('close', () => this.#lost(subscription, closedBy));
      channel.once('close', () => this.#lost(subscription, closedBy));
      channel.on('error', (error: Error) => this.#report(error));
      if (this.#careful > 0) void this.#takeCarefully(subscription);
      else await this.#consumeAll(subscription);
      // Closed meanwhile: `close` ends the subscription, once the batches under way are acked.
      if (this.#closing) return retired;
      if (subscription !== this.#current) throw new Error('lost while subscribing');
      if (retired.length > 0) this.#drainTimer ??= setInterval(() => void this.#deleteDrained(), DRAIN_CHECK_MS);
      return retired;
    } catch (error) {
      // Being closed: `close` acks the batches under way before it closes the connection (closing
      // it here would lose those acks, and every message handled would come back).
      if (this.#closing && this.#current?.connection === connection) throw error;
      await connection.close().catch(() => undefined);
      // The broker closed it while it delivered: the consumer never heard back, but a delivery failed.
      if (closedBy !== undefined) this.#beCareful();
      throw error;
    }
  }

  /** A consumer on every queue of the subscription, each with the prefetch. */
  async #consumeAll(subscription: Subscription): Promise<void> {
    await subscription.channel.prefetch(this.#options.prefetch);
    for (const queue of subscription.queues) if (!this.#closing) await this.#consume(subscription, queue);
  }

  async #consume(subscription: Subscription, queue: string): Promise<void> {
    const { consumerTag } = await subscription.channel.consume(queue, (message) => {
      if (message !== null) return this.#receive(subscription, fromAmqplib(message));
      // The server cancelled the consumer: a retired queue was deleted (by another processor), or
      // a partition was deleted or lost its leader, which a new subscription declares anew.
      subscription.consumerTags.delete(queue);
      if (subscription.retired.delete(queue)) subscription.queues = subscription.queues.filter((name) => name !== queue);
      else this.#lost(subscription);
    });
    // `close` cancelled the consumers it knew of while this one was being set up.
    if (this.#closing) await subscription.channel.cancel(consumerTag).catch(() => undefined);
    else subscription.consumerTags.set(queue, consumerTag);
  }

  async #cancelAll(subscription: Subscription): Promise<void> {
    subscription.getting = false;
    const tags = [...subscription.consumerTags.values()];
    subscription.consumerTags.clear();
    for (const tag of tags) await subscription.channel.cancel(tag).catch(() => undefined);
  }

  /**
   * Careful: takes the next `#careful` messages one at a time, each handled and acknowledged before
   * the next is asked for, going round the queues; then consumes again. Every queue empty ends it
   * early.
   */
  async #takeCarefully(subscription: Subscription): Promise<void> {
    subscription.getting = true;
    try {
      while (this.#careful > 0 && subscription.getting && subscription === this.#current) {
        let took = false;
        for (const queue of subscription.queues) {
          const message = await subscription.channel.get(queue, { noAck: false });
          if (message === false) continue;
          took = true;
          this.#receive(subscription, fromAmqplib(message));
          await this.#handleReceived();
          if (this.#careful === 0 || !subscription.getting) break;
        }
        if (!took) this.#careful = 0;
      }
      if (!subscription.getting || subscription !== this.#current || this.#closing) return;
      subscription.getting = false;
      await this.#consumeAll(subscription);
    } catch (error) {
      // The channel closed under us: `#lost` subscribes again.
      this.#report(error as Error);
    }
  }

  /**
   * Looks at each retired queue: one that is empty stops being consumed here (so that, once this
   * processor's deliveries from it are settled, its consumer no longer counts); one that is
   * drained is deleted; one that holds messages again (a processor that died returned them) is
   * consumed again.
   */
  async #deleteDrained(): Promise<void> {
    const subscription = this.#current;
    if (subscription === undefined || subscription.getting || this.#lookingAtRetired) return;
    this.#lookingAtRetired = true;
    try {
      // From the highest partition down, each deleted only once every one above it is gone: the
      // partitions left over stay a run from the count up, which `retiredQueues` finds by looking
      // up to the first one missing.
      let higherRemains = false;
      for (const queue of [...subscription.retired].reverse()) {
        if (subscription !== this.#current) return;
        const state = await deleteIfDrained(subscription.connection, queue, { mayDelete: queue === UNPARTITIONED_QUEUE || !higherRemains });
        const consumerTag = subscription.consumerTags.get(queue);
        if (state !== 'deleted' && state !== 'gone' && queue !== UNPARTITIONED_QUEUE) higherRemains = true;
        if (state === 'deleted' || state === 'gone') {
          subscription.retired.delete(queue);
          subscription.queues = subscription.queues.filter((name) => name !== queue);
          if (state === 'deleted') this.emit('deleted', queue);
        } else if (state.messages === 0 && consumerTag !== undefined) {
          subscription.consumerTags.delete(queue);
          await subscription.channel.cancel(consumerTag);
        } else if (state.messages > 0 && consumerTag === undefined) {
          await this.#consume(subscription, queue);
        }
      }
    } catch (error) {
      // The channel closed under us: `#lost` subscribes again, and looks for retired queues anew.
      this.#report(error as Error);
    } finally {
      this.#lookingAtRetired = false;
    }
  }

  /** Hands over what was received and waits until every batch is settled. */
  async #handleReceived(): Promise<void> {
    this.#seal();
    while (this.#handling.size > 0) await Promise.all(this.#handling);
  }

  #beCareful(): void {
    if (this.#careful === 0) this.emit('careful', this.#options.prefetch);
    this.#careful = this.#options.prefetch;
  }

  /** The connection or channel closed, or the consumer was cancelled: subscribe again, afresh. */
  #lost(subscription: Subscription, closedBy?: Error): void {
    if (subscription !== this.#current) return;
    this.#current = undefined;
    if (closedBy !== undefined && !this.#closing) this.#beCareful();
    const wasConsuming = subscription.getting || subscription.consumerTags.size > 0;
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
    // A broker that answers but cannot deliver one message is tried again at once: each try brings
    // that message nearer its delivery limit.
    const delay = this.#careful > 0 ? RECONNECT_BACKOFF.minMs : this.#retry.next();
    this.#retryTimer = setTimeout(() => this.#subscribe(), delay);
  }

  #receive(subscription: Subscription, message: Delivery): void {
    if (subscription !== this.#current) return;
    this.#collecting.push(message);
    if (this.#careful > 0 || this.#collecting.length >= this.#options.batchSize) this.#seal();
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
      this.#report(error as Error);
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
      this.#report(error as Error);
      return;
    }
    if (this.#careful > 0) this.#careful = Math.max(0, this.#careful - messages.length);
  }
}

/** Why subscribing failed: `access_refused` when the broker refused the credentials or vhost, else `subscribe_failed`. */
function subscribeFailure(error: unknown): MessagingError {
  const code = isAccessRefused(error) ? 'access_refused' : 'subscribe_failed';
  return new MessagingError(code, `cannot subscribe to the partitions: ${(error as Error).message}`, { cause: error });
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
