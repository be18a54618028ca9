import { toStatusEvent, type StatusEvent } from '@tally/contract';
import { decode, type Delivery } from '@tally/messaging';
import type { InsertResult } from '@tally/store';

export interface BatchHandlerOptions {
  /** Writes the readings (retrying while the store is down); one result per event, in order. */
  insert(events: readonly StatusEvent[]): Promise<readonly InsertResult[]>;
  /** Publishes `message` to the dead-letter queue with `reason`; rejects when it cannot. */
  deadLetter(message: Delivery, reason: string): Promise<void>;
  /** Told about each reading stored (or found stored already) and each message dead-lettered. */
  stats: { stored(duplicate: boolean): void; deadLettered(reason: string): void };
  /** Told when dead-lettering starts failing (with the error) and when it works again. */
  onDeadLetterFailing?(failing: boolean, error?: unknown): void;
  /**
   * Told about the readings of each batch once stored (duplicates included), to announce them; runs
   * after the write and must not block: whatever it does or throws, the batch is acknowledged.
   */
  onStored?(events: readonly StatusEvent[]): void;
  /** The time a reading without `ts` gets. */
  now?: () => Date;
}

/** Handles one batch; resolves with the messages that go back to the queue (see `createBatchHandler`). */
export type BatchHandler = (messages: readonly Delivery[]) => Promise<Delivery[]>;

/**
 * Settles every message of a batch: stored (now or before), or dead-lettered with its reason —
 * `invalid_json`, `invalid_schema`, `invalid_device`, … from decoding, `invalid_device` or
 * `device_conflict` from the routing key's device, `write_error` when the store refuses a
 * document. Resolves with the messages that could not be dead-lettered, which alone go back to
 * the queue: the others are acknowledged, so that no stored reading is delivered again (one
 * without id and ts would be stored again).
 */
export function createBatchHandler(options: BatchHandlerOptions): BatchHandler {
  const { insert, stats, now = () => new Date() } = options;
  let deadLetterFailing = false;

  /** Best effort: an announcement that fails costs viewers a poll, never a reading. */
  const announce = (stored: readonly StatusEvent[]) => {
    if (stored.length === 0) return;
    try {
      options.onStored?.(stored);
    } catch {
      // Dropped: viewers read the store for it later.
    }
  };

  /** Resolves with `message` when dead-lettering failed, else `undefined`; never rejects. */
  const deadLetter = (message: Delivery, reason: string, detail: string): Promise<Delivery | undefined> =>
    options.deadLetter(message, `${reason}: ${detail}`).then(
      () => {
        stats.deadLettered(reason);
        if (deadLetterFailing) options.onDeadLetterFailing?.(false);
        deadLetterFailing = false;
        return undefined;
      },
      (error: unknown) => {
        if (!deadLetterFailing) options.onDeadLetterFailing?.(true, error);
        deadLetterFailing = true;
        return message;
      },
    );

  return async (messages) => {
    const receivedAt = now();
    const events: StatusEvent[] = [];
    const sources: Delivery[] = [];
    // Started at once, awaited after the write: a rejection left waiting would end the process,
    // which is why `deadLetter` never rejects.
    const deadLettering: Promise<Delivery | undefined>[] = [];
    for (const message of messages) {
      const decoded = decode(message.body);
      if (!decoded.ok) {
        deadLettering.push(deadLetter(message, decoded.reason, decoded.detail));
        continue;
      }
      const mapped = toStatusEvent(decoded.reading, { routingKey: message.routingKey, receivedAt });
      if (!mapped.ok) {
        deadLettering.push(deadLetter(message, mapped.reason, mapped.detail));
        continue;
      }
      events.push(mapped.event);
      sources.push(message);
    }
    const results = events.length > 0 ? await insert(events) : [];
    const stored: StatusEvent[] = [];
    results.forEach((result, i) => {
      if (!result.stored) return void deadLettering.push(deadLetter(sources[i] as Delivery, 'write_error', result.reason));
      stats.stored(result.duplicate);
      stored.push(events[i] as StatusEvent);
    });
    announce(stored);
    return (await Promise.all(deadLettering)).filter((message) => message !== undefined);
  };
}
