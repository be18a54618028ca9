import type { Connection } from 'rabbitmq-client';
import { encodeChanges, type Changes } from './changes';
import { closePublisher } from './connection';
import { CHANGES_EXCHANGE, CHANGES_EXCHANGE_DECLARATION } from './topology';

export interface ChangeAnnouncer {
  /**
   * Publishes `changes` to `tally.changes` without waiting for it: it never throws, never blocks the
   * caller, and drops the announcement (telling `onDropped`) when the broker is unreachable or
   * `maxInFlight` are still being written. Viewers then read the store for it a little later.
   */
  announce(changes: Changes): void;
  close(): Promise<void>;
}

export interface ChangeAnnouncerOptions {
  /**
   * Announcements being written at most; more are dropped rather than queued in memory.
   * @default 16
   */
  maxInFlight?: number;
  /** Told about each announcement dropped, with why. */
  onDropped?: (reason: 'unreachable' | 'busy' | 'failed', error?: unknown) => void;
}

/**
 * The processor's announcements of what it stored: one small, unconfirmed, transient message per
 * batch. Announcing is best effort by design: a reading is stored and acknowledged whatever
 * becomes of its announcement.
 */
export function createChangeAnnouncer(connection: Connection, { maxInFlight = 16, onDropped }: ChangeAnnouncerOptions = {}): ChangeAnnouncer {
  const publisher = connection.createPublisher({ confirm: false, exchanges: [CHANGES_EXCHANGE_DECLARATION], maxAttempts: 1 });
  let inFlight = 0;
  return {
    announce: (changes) => {
      if (changes.minutes.length === 0) return;
      if (!connection.ready) return onDropped?.('unreachable');
      if (inFlight >= maxInFlight) return onDropped?.('busy');
      inFlight++;
      publisher
        .send({ exchange: CHANGES_EXCHANGE, durable: false, contentType: 'application/json' }, encodeChanges(changes))
        .catch((error: unknown) => onDropped?.('failed', error))
        .finally(() => inFlight--);
    },
    close: () => closePublisher(connection, publisher),
  };
}
