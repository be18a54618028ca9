import type { Connection } from 'rabbitmq-client';
import type { Delivery } from './delivery';
import { closePublisher, FRAME_MAX } from './connection';
import { fitHeaders } from './headers';
import { DEAD_LETTER_EXCHANGE, DEAD_LETTER_REASON_HEADER, DEAD_LETTER_TOPOLOGY } from './topology';

export interface DeadLetterPublisher {
  /**
   * Publishes `message` (its body and properties unchanged) to `tally.status.dead` with `reason` in
   * the `x-tally-reason` header; resolves once the broker has confirmed it. Ack the original after.
   */
  deadLetter(message: Delivery, reason: string): Promise<void>;
  close(): Promise<void>;
}

/** Longest reason recorded; a longer one is cut. */
const MAX_REASON_CHARS = 1000;
/** Room kept for the note naming dropped headers. */
const MAX_NOTE_BYTES = 2048;
/** Room in a frame for the properties other than the headers (three short strings at most 255 bytes, and fixed fields). */
const OTHER_PROPERTIES_BYTES = 1024;

/**
 * Dead-letters through a confirmed publish rather than a reject: a reject cannot carry a reason,
 * and the reason is what a person needs to act on. A message's headers are copied while they fit
 * in one frame (`FRAME_MAX`) beside the reason; past that the largest are dropped, and the reason
 * names them, so that no header can make a message impossible to dead-letter.
 */
export function createDeadLetterPublisher(connection: Connection): DeadLetterPublisher {
  const publisher = connection.createPublisher({ confirm: true, ...DEAD_LETTER_TOPOLOGY });
  return {
    deadLetter: (message, reason) => {
      const own = (note: string) => ({
        [DEAD_LETTER_REASON_HEADER]: `${reason.slice(0, MAX_REASON_CHARS)}${note}`,
        'x-tally-original-exchange': message.exchange,
        'x-tally-original-routing-key': message.routingKey,
      });
      // Room is left for the note that names what was dropped, which lengthens the reason.
      const budget = FRAME_MAX - OTHER_PROPERTIES_BYTES - MAX_NOTE_BYTES;
      const { headers, dropped } = fitHeaders(message.headers, own(''), budget);
      const note = droppedNote(dropped);
      return publisher.send(
        {
          exchange: DEAD_LETTER_EXCHANGE,
          routingKey: message.routingKey,
          durable: true,
          contentType: message.contentType,
          contentEncoding: message.contentEncoding,
          messageId: message.messageId,
          timestamp: message.timestamp,
          headers: note === '' ? headers : { ...headers, ...own(note) },
        },
        message.body,
      );
    },
    close: () => closePublisher(connection, publisher),
  };
}

function droppedNote(dropped: readonly { name: string; bytes: number }[]): string {
  if (dropped.length === 0) return '';
  const list = dropped.map(({ name, bytes }) => `${name} (${bytes} bytes)`).join(', ');
  return ` (headers dropped to fit a frame: ${list})`.slice(0, MAX_NOTE_BYTES / 4); // UTF-8: at most 4 bytes a character
}
