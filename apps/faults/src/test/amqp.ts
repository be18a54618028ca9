import { randomInt, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection, type Publisher } from 'rabbitmq-client';
import { routingKeyFor, STATUS_TOPIC, STATUSES } from '@tally/contract';
import type { AckedReading } from '../checker';

// The contract as docs/design.md states it: this suite checks the built apps from outside, so it
// speaks AMQP itself rather than through @tally/messaging; a reading's shape comes from @tally/contract.
/** The scenario's partition count (`TALLY_PARTITIONS` of every app it runs): readings spread over `tally.status.<i>` by device. */
export const PARTITIONS = 3;
export const PARTITION_QUEUES = Array.from({ length: PARTITIONS }, (_, i) => `tally.status.${i}`);
export const DEAD_LETTER_QUEUE = 'tally.status.dead';
export const DEAD_LETTER_REASON_HEADER = 'x-tally-reason';
export const READINGS_EXCHANGE = 'amq.topic';
export const READING_ROUTING_KEY = STATUS_TOPIC;

/** A reading as published: `id` is optional, as for any device; `device` travels in the routing key. */
export type Reading = AckedReading;

export function encode(reading: { id?: string; status: number; ts?: Date }): Buffer {
  return Buffer.from(
    JSON.stringify({
      ...(reading.id !== undefined && { id: reading.id }),
      status: reading.status,
      ...(reading.ts !== undefined && { ts: reading.ts.toISOString() }),
    }),
  );
}

export interface ReadingsOptions {
  /** ts of the first reading; the next are `stepMs` apart. @default 2026-06-01 plus a random hour */
  start?: number;
  /** @default 1 */
  stepMs?: number;
  /** Give each reading an id (else the processor derives one from the content). @default true */
  withId?: boolean;
}

/**
 * `perDevice` readings of each of `devices` devices (`dev-0001`…), without ids: reading i of every
 * device at the same millisecond, so that only the device tells their derived ids apart.
 */
export function fleetReadings(devices: number, perDevice: number, { start = Date.UTC(2026, 7, 1) + randomInt(0, 3600) * 1000 } = {}): Reading[] {
  const ids = Array.from({ length: devices }, (_, d) => `dev-${String(d + 1).padStart(4, '0')}`);
  return Array.from({ length: perDevice }, (_, i) =>
    ids.map((device) => ({ device, status: STATUSES[randomInt(0, STATUSES.length)] as number, ts: new Date(start + i * 1000) })),
  ).flat();
}

/** `count` readings with random statuses and distinct times. */
export function readings(count: number, options: ReadingsOptions = {}): Reading[] {
  const { start = Date.UTC(2026, 5, 1) + randomInt(0, 3600) * 1000, stepMs = 1, withId = true } = options;
  return Array.from({ length: count }, (_, i) => ({
    ...(withId && { id: randomUUID() }),
    status: STATUSES[randomInt(0, STATUSES.length)] as number,
    ts: new Date(start + i * stepMs),
  }));
}

/**
 * The bytes of a message body. rabbitmq-client hands over a string for `text/plain` and the parsed
 * value for `application/json`, which is serialized again (compact JSON comes back byte for byte).
 */
function bodyBytes(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  return Buffer.from(typeof body === 'string' ? body : (JSON.stringify(body) ?? ''));
}

export interface DeadLetter {
  body: Buffer;
  /** Why the processor dead-lettered it (`x-tally-reason`). */
  reason: unknown;
  /** Why the broker dead-lettered it (`x-death`), e.g. `delivery_limit`. */
  brokerReason: unknown;
  messageId: string | undefined;
}

/** An AMQP connection to one vhost, for the test's own publishing and looking. */
export class Amqp {
  readonly connection: Connection;

  constructor(readonly url: string, connectionName = 'tally-faults') {
    this.connection = new Connection({ url, connectionName, noDelay: true, retryHigh: 2000 });
    // A connection the test closes on purpose (or a broker it stops) reconnects by itself.
    this.connection.on('error', () => undefined);
  }

  /** Messages ready in `queue` (a passive declare); 0 for a queue nobody declared yet. */
  async depth(queue: string): Promise<number> {
    try {
      return (await this.connection.queueDeclare({ queue, passive: true })).messageCount;
    } catch (error) {
      // Nothing declared tally.status.dead in this vhost: nothing was dead-lettered into it.
      if (queue === DEAD_LETTER_QUEUE && (error as { code?: string }).code === 'NOT_FOUND') return 0;
      throw error;
    }
  }

  /** Messages ready in every partition together. */
  async pending(): Promise<number> {
    let total = 0;
    for (const queue of PARTITION_QUEUES) total += await this.depth(queue);
    return total;
  }

  /** Takes every message of `tally.status.dead` (the queue is emptied). */
  async takeDeadLetters(): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    for (;;) {
      const message = await this.connection.basicGet({ queue: DEAD_LETTER_QUEUE, noAck: true });
      if (!message) return letters;
      const [death] = (message.headers?.['x-death'] ?? []) as { reason?: unknown }[];
      letters.push({
        body: bodyBytes(message.body),
        reason: message.headers?.[DEAD_LETTER_REASON_HEADER],
        brokerReason: death?.reason,
        messageId: message.messageId,
      });
    }
  }

  publisher(onAcked: (reading: AckedReading) => void = () => undefined): ConfirmedPublisher {
    return new ConfirmedPublisher(this.connection, onAcked);
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

export interface PublishOptions {
  /** Publishes awaiting their confirm at once. @default 500 */
  window?: number;
  /** @default `status.<device>` for a reading with a device, else `status` */
  routingKey?: string;
}

export interface RawMessage {
  body: Buffer;
  /** A unique message id, to find the message again among dead letters. */
  messageId?: string;
  contentType?: string;
}

/**
 * Publishes with publisher confirms and reports each reading as acknowledged once the broker
 * confirmed it. A publish that fails (connection lost before the confirm) is sent again, as a
 * careful publisher does: the broker may then hold it twice. Messages are `mandatory`, so one
 * that no queue takes (topology not declared yet) fails the test instead of vanishing.
 */
export class ConfirmedPublisher {
  /** Publishes sent again after a failure. */
  retries = 0;
  readonly #publisher: Publisher;
  readonly #returned = new Set<string>();

  constructor(
    connection: Connection,
    private readonly onAcked: (reading: AckedReading) => void,
  ) {
    this.#publisher = connection.createPublisher({ confirm: true, maxAttempts: 1 });
    this.#publisher.on('basic.return', (message) => this.#returned.add(String(message.messageId)));
  }

  async publish(items: readonly Reading[], { window = 500, routingKey }: PublishOptions = {}) {
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < items.length; i = next++) {
        const reading = items[i] as Reading;
        await this.#send({ body: encode(reading) }, routingKey ?? routingKeyFor(reading.device));
        this.onAcked(reading);
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, items.length) }, worker));
  }

  /** Publishes messages as they are, confirmed, one at a time, in order; records nothing. */
  async publishRaw(messages: readonly RawMessage[], routingKey = READING_ROUTING_KEY): Promise<void> {
    for (const message of messages) await this.#send(message, routingKey);
  }

  async #send({ body, messageId = randomUUID(), contentType }: RawMessage, routingKey: string): Promise<void> {
    const envelope = {
      exchange: READINGS_EXCHANGE,
      routingKey,
      durable: true,
      mandatory: true,
      messageId,
      ...(contentType !== undefined && { contentType }),
    };
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await this.#publisher.send(envelope, body);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        this.retries++;
        await sleep(100);
      }
    }
    if (this.#returned.has(messageId)) {
      throw new Error(`No queue took message ${messageId}: start the processor (it declares the queue) before publishing`);
    }
  }

  /**
   * Publishes a stream of fresh readings, `perSecond` of them, until `stop()`; resolves `stop()`
   * with how many were acknowledged.
   */
  stream(perSecond: number, options: ReadingsOptions = {}): { stop(): Promise<number> } {
    let stopped = false;
    let acked = 0;
    const tickMs = 50;
    const perTick = Math.max(1, Math.round((perSecond * tickMs) / 1000));
    const start = options.start ?? Date.UTC(2026, 6, 1) + randomInt(0, 3600) * 1000;
    const running = (async () => {
      for (let tick = 0; !stopped; tick++) {
        const due = Date.now() + tickMs;
        const batch = readings(perTick, { ...options, start: start + tick * perTick * (options.stepMs ?? 1) });
        await this.publish(batch);
        acked += batch.length;
        await sleep(Math.max(0, due - Date.now()));
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await running;
        return acked;
      },
    };
  }

  close(): Promise<void> {
    return this.#publisher.close();
  }
}
