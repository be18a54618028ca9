/** Server-Sent Events: the text of an event, and one client's stream with bounded memory. */

const encoder = new TextEncoder();

/** One event: `id` (none: the client keeps its last), `event` and `data` lines (data is JSON, one line), then a blank line. */
export function sseEvent(type: string, id: string | undefined, data: unknown): Uint8Array {
  return encoder.encode(`${id === undefined ? '' : `id: ${id}\n`}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** A comment line: clients ignore it; it keeps proxies from closing a quiet connection, and shows a stalled client. */
export const HEARTBEAT = encoder.encode(': heartbeat\n\n');

/** Milliseconds a client waits before it reconnects (the `retry` field, sent first). */
export const RECONNECT_MS = 2000;

export type CloseReason = 'client' | 'slow' | 'stalled' | 'shutdown';

export interface SseStreamOptions {
  /**
   * Bytes a client may leave unread (beyond what its socket holds) before it is dropped as slow; a
   * single event larger than this is still sent to a client that has read everything before it.
   */
  maxBufferedBytes: number;
  /** Told once, when the stream ends, with why. */
  onClose: (reason: CloseReason) => void;
  /**
   * Closes the client's connection at once (Node's response `destroy`); without it a dropped
   * stream errors, which its reader reports.
   */
  abort?: (() => void) | undefined;
}

/**
 * One client's event stream: the body of its response. What the client has not read yet waits in
 * the stream's queue, bounded by `maxBufferedBytes`: past it, or when data waited unread from one
 * heartbeat to the next (`heartbeat`), the client is dropped, so that no client holds memory.
 */
export class SseStream {
  readonly body: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #closed = false;
  /** Bytes were waiting unread at the last heartbeat. */
  #waitingAtHeartbeat = false;

  constructor(private readonly options: SseStreamOptions) {
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
          controller.enqueue(encoder.encode(`retry: ${RECONNECT_MS}\n\n`));
        },
        cancel: () => this.#end('client'),
      },
      { highWaterMark: options.maxBufferedBytes, size: (chunk) => chunk.byteLength },
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes queued that the client has not read yet. */
  get waitingBytes(): number {
    return this.options.maxBufferedBytes - (this.#controller.desiredSize ?? 0);
  }

  /** Queues `chunk`; drops the client (false) when it would leave too much unread. */
  send(chunk: Uint8Array): boolean {
    if (this.#closed) return false;
    const waiting = this.waitingBytes;
    if (waiting > 0 && waiting + chunk.byteLength > this.options.maxBufferedBytes) {
      this.drop('slow');
      return false;
    }
    this.#controller.enqueue(chunk);
    return true;
  }

  /** Sends a heartbeat, or drops a client that left data unread since the last one. */
  heartbeat(): void {
    if (this.#closed) return;
    const waiting = this.waitingBytes > 0;
    if (waiting && this.#waitingAtHeartbeat) return this.drop('stalled');
    this.#waitingAtHeartbeat = waiting;
    this.send(HEARTBEAT);
  }

  /** Ends the stream at once, discarding what is unread (a slow or stalled client). */
  drop(reason: CloseReason): void {
    if (this.#closed) return;
    this.#end(reason);
    // Destroying the connection cancels the stream, which discards what it held.
    if (this.options.abort) this.options.abort();
    else this.#controller.error(new Error(`Event stream dropped: ${reason}`));
  }

  /** Ends the stream (shutdown): once read, or at once when the client left data unread. */
  close(): void {
    if (this.#closed) return;
    if (this.waitingBytes > 0) return this.drop('shutdown');
    this.#controller.close();
    this.#end('shutdown');
  }

  #end(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.options.onClose(reason);
  }
}
