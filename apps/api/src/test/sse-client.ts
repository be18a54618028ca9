import { waitUntil } from '@tally/devstack';
import { takeEvents } from '../dashboard/events';

export interface ReceivedEvent {
  id: string;
  type: string;
  data: { start_time: string; end_time: string; step: string; points: { start: string; counts: Record<string, number> }[] };
}

/** A test's reader of one event stream: every event as it arrives, and how the stream ended. */
export interface EventReader {
  events: ReceivedEvent[];
  /** `undefined` while open; `'ended'` when the server closed it; the error when it broke. */
  end: 'ended' | Error | undefined;
  /** Waits for an event that `matches` (after the `after`th), and returns it. */
  next(matches: (event: ReceivedEvent) => boolean, after?: number): Promise<ReceivedEvent>;
  close(): Promise<void>;
}

/** Reads the events of `response` (a 200 `text/event-stream`) as they come. */
export function readEvents(response: Response): EventReader {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const state: EventReader = {
    events: [],
    end: undefined,
    next: async (matches, after = 0) => {
      let found: ReceivedEvent | undefined;
      await waitUntil('an event', async () => (found = state.events.slice(after).find(matches)) !== undefined || state.end !== undefined, {
        timeoutMs: 30_000,
        intervalMs: 20,
      });
      if (!found) throw new Error(`The stream ended (${String(state.end)}) before the event awaited`);
      return found;
    },
    close: () => reader.cancel(),
  };
  void (async () => {
    let text = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return void (state.end = 'ended');
        const taken = takeEvents(text + decoder.decode(value, { stream: true }));
        text = taken.rest;
        for (const { id, type, data } of taken.events) state.events.push({ id, type, data: JSON.parse(data) });
      }
    } catch (error) {
      state.end = error as Error;
    }
  })();
  return state;
}
