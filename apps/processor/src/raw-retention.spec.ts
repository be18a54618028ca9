import type { ExpiryOptions, ExpiryResult } from '@tally/store';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runRawRetention } from './raw-retention';

const DAY = 86_400_000;
const START = Date.parse('2026-03-10T12:00:00Z');

beforeEach(() => {
  vi.useFakeTimers({ now: START });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('runRawRetention', () => {
  it('starts at once, steps one after another while behind (each step rests in the store), then once a minute; a failure is retried a minute later', async () => {
    const controller = new AbortController();
    const hour = new Date(0);
    const script: (ExpiryResult | Error)[] = [
      { state: 'expired', hour, end: hour, deleted: 10, restedMs: 0 },
      { state: 'expired', hour, end: hour, deleted: 10, restedMs: 0 },
      { state: 'idle' },
      new Error('MongoDB down'),
      { state: 'waiting', hour, reason: 'buckets there are waiting for a refresh' },
      { state: 'held', by: 'another' },
    ];
    const calls: { at: number; olderThan: number }[] = [];
    const told: string[] = [];
    const expire = async ({ olderThan }: ExpiryOptions) => {
      calls.push({ at: Date.now() - START, olderThan });
      const next = script.shift();
      if (script.length === 0) controller.abort();
      if (next instanceof Error) throw next;
      return next ?? { state: 'idle' as const };
    };
    const running = runRawRetention({
      expire,
      retentionMs: 90 * DAY,
      signal: controller.signal,
      onStep: (result) => told.push(result.state),
      onError: (error) => told.push(String(error)),
    });
    for (let i = 0; i < 10; i++) await vi.advanceTimersToNextTimerAsync();
    await running;
    expect(calls.map((call) => call.at)).toEqual([0, 0, 0, 60_000, 120_000, 180_000]);
    expect(calls.map((call) => START + call.at - call.olderThan)).toEqual(Array(6).fill(90 * DAY));
    expect(told).toEqual(['expired', 'expired', 'Error: MongoDB down', 'waiting', 'held']);
  });
});
