import { EventEmitter } from 'node:events';
import type { Connection } from 'rabbitmq-client';
import { decodeChanges, type Changes } from './changes';
import { CHANGE_FEED_QUEUE_OPTIONS, CHANGES_EXCHANGE, CHANGES_EXCHANGE_DECLARATION } from './topology';

export interface ChangeFeedEvents {
  /** An announcement of the processor. */
  changes: [Changes];
  /** Subscribed (again): from now on every announcement arrives. */
  up: [];
  /** The subscription is lost (announcements are missed until `up`). */
  down: [Error];
}

/** The announcements of `tally.changes`, as they come, on a queue of this subscriber's own. */
export class ChangeFeed extends EventEmitter<ChangeFeedEvents> {
  /** `undefined` until the first subscription or failure: the first failure is told too. */
  #up: boolean | undefined;
  readonly #connection: Connection;
  readonly #consumer;

  constructor(connection: Connection) {
    super();
    this.#connection = connection;
    this.#consumer = connection.createConsumer(
      {
        queue: '',
        queueOptions: CHANGE_FEED_QUEUE_OPTIONS,
        exchanges: [CHANGES_EXCHANGE_DECLARATION],
        // An empty queue name binds the queue just declared: the broker named it.
        queueBindings: [{ queue: '', exchange: CHANGES_EXCHANGE, routingKey: '' }],
        noAck: true,
      },
      (message) => {
        const changes = decodeChanges(message.body);
        if (changes) this.emit('changes', changes);
      },
    );
    this.#consumer.on('ready', () => this.#mark(true));
    this.#consumer.on('error', (error: Error) => this.#mark(false, error));
    connection.on('error', this.#onConnectionError);
  }

  /** True while subscribed. */
  get up(): boolean {
    return this.#up === true;
  }

  /** Stops consuming. With the broker unreachable there is nothing to wait for (closing would wait for a channel): it is not waited for then. */
  async close(): Promise<void> {
    this.#connection.off('error', this.#onConnectionError);
    const closing = this.#consumer.close();
    if (this.#connection.ready) await closing;
    else closing.catch(() => undefined);
  }

  readonly #onConnectionError = (error: Error) => this.#mark(false, error);

  #mark(up: boolean, error?: Error): void {
    if (up === this.#up) return;
    this.#up = up;
    if (up) this.emit('up');
    else this.emit('down', error ?? new Error('Subscription lost'));
  }
}
