import { UTC, type SeriesPoint } from '@tally/store';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveHub, type StreamSpec } from './hub';

const spec: StreamSpec = { step: '1m', zone: UTC, range: { start: new Date('2026-12-04T10:00:00Z'), end: new Date('2026-12-04T10:02:00Z') } };

describe('LiveHub', () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date('2026-12-04T10:05:00Z') }));
  afterEach(() => vi.useRealTimers());

  it('does not take a stream whose first read is slow for a stalled client, and still drops one that stalls later', async () => {
    let finishRead!: (points: SeriesPoint[]) => void;
    const read = () => new Promise<SeriesPoint[]>((resolve) => (finishRead = resolve));
    const hub = new LiveHub({ read, heartbeatMs: 100, pollMs: 60_000 });
    const opening = hub.open(spec).start(read);
    // Twenty heartbeats while the store reads: the stream has no reader yet, so nothing was read.
    await vi.advanceTimersByTimeAsync(2000);
    finishRead([]);
    const reader = ((await opening).body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    expect(decoder.decode((await reader.read()).value)).toMatch(/^retry: /);
    expect(decoder.decode((await reader.read()).value)).toMatch(/^id: .*\nevent: series\n/);
    expect(hub.size).toBe(1);

    // Then its client stops reading: the next heartbeat is still unread at the one after, which drops it.
    await vi.advanceTimersByTimeAsync(350);
    expect(hub.size).toBe(0);
    await expect(reader.read()).rejects.toThrow('Event stream dropped: stalled');
    hub.close();
  });
});
