import { sleep } from '@tally/runtime';
import type { ExpiryOptions, ExpiryResult } from '@tally/store';

export interface RawRetentionOptions {
  /** Expires the oldest hour older than `olderThan`; `rollups.expireRaw` of the store. */
  expire: (options: ExpiryOptions) => Promise<ExpiryResult>;
  /** Raw readings older than this are deleted (RAW_RETENTION). */
  retentionMs: number;
  /** Pause once nothing is left to expire, another processor holds the step, or an hour waits. @default 60 s */
  idleMs?: number;
  signal: AbortSignal;
  /** Told of every step's outcome (but `idle`), and of a failure (MongoDB down: retried after `idleMs`). */
  onStep?: (result: ExpiryResult) => void;
  onError?: (error: unknown) => void;
}

/**
 * Deletes raw readings older than `retentionMs`, an hour of readings per step, step after step
 * (each resting 1.5 times as long as it worked, raw-expiry.ts) while it is behind (a processor
 * starting with RAW_RETENTION on a database of old readings), then
 * one step each hour as readings age: each step checks that the rollups hold the hour's readings,
 * waits `graceMs` for counts that began before it, then deletes them in batches (raw-expiry.ts).
 * Several processors may each run one: a step is held by one at a time. Resolves once `signal` aborts.
 */
export async function runRawRetention({ expire, retentionMs, idleMs = 60_000, signal, onStep, onError }: RawRetentionOptions): Promise<void> {
  while (!signal.aborted) {
    let behind = false;
    try {
      const result = await expire({ olderThan: Date.now() - retentionMs, signal });
      if (result.state !== 'idle') onStep?.(result);
      behind = result.state === 'expired';
    } catch (error) {
      onError?.(error);
    }
    if (!behind) await sleep(idleMs, signal);
  }
}
