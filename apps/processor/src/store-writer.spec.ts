import { createLogger, type Logger } from '@tally/runtime';
import { StoreError, type StatusEventStore } from '@tally/store';
import { describe, expect, it, vi } from 'vitest';
import { createStoreWriter } from './store-writer';

const logger = createLogger({ name: 'test', level: 'silent' });

/** A store whose ensureIndexes fails with each of `failures` in turn, then succeeds. */
function storeFailing(failures: Error[]) {
  const ensureIndexes = vi.fn(async () => {
    const failure = failures.shift();
    if (failure) throw failure;
  });
  return { store: { ensureIndexes, insertReadings: async () => [] } as unknown as StatusEventStore, ensureIndexes };
}

describe('createStoreWriter', () => {
  it('stops at once, through onFatal, when the engine cannot hold the rollups', async () => {
    const unsupported = new StoreError('unsupported_engine', 'The server cannot create partial indexes');
    const { store, ensureIndexes } = storeFailing([unsupported]);
    const onFatal = vi.fn();
    createStoreWriter(store, logger, new AbortController().signal, { onFatal });
    await vi.waitFor(() => expect(onFatal).toHaveBeenCalledWith(unsupported));
    expect(ensureIndexes).toHaveBeenCalledTimes(1);
  });

  it('keeps retrying any other failure to prepare the store', async () => {
    const { store, ensureIndexes } = storeFailing([new Error('MongoDB down')]);
    const onFatal = vi.fn();
    const writer = createStoreWriter(store, logger, new AbortController().signal, { onFatal, prepareBackoff: { minMs: 1, maxMs: 1 } });
    await writer.insert([]);
    expect(ensureIndexes).toHaveBeenCalledTimes(2);
    expect(onFatal).not.toHaveBeenCalled();
  });
});

describe('the store writer through a write outage', () => {
  it('holds the batch until a write succeeds, and logs the outage when it starts and when it ends, not per retry', async () => {
    const failures = [new Error('connection refused'), new Error('connection refused'), new Error('timed out')];
    const insertReadings = vi.fn(async () => {
      const failure = failures.shift();
      if (failure) throw failure;
      return [];
    });
    const store = { ensureIndexes: async () => undefined, insertReadings } as unknown as StatusEventStore;
    const lines: [level: string, msg: string, fields: Record<string, unknown>][] = [];
    const record = (level: string) => (fields: Record<string, unknown>, msg: string) => lines.push([level, msg, fields]);
    const logging = { debug: record('debug'), info: record('info'), warn: record('warn') } as unknown as Logger;
    const writer = createStoreWriter(store, logging, new AbortController().signal, { onFatal: vi.fn() });

    const written = writer.insert([]);
    await vi.waitFor(() => expect(writer.failing).toBe(true));
    await written;

    expect(insertReadings).toHaveBeenCalledTimes(4);
    expect(writer.failing).toBe(false);
    expect(lines.map(([level, msg]) => [level, msg])).toEqual([
      ['warn', 'MongoDB write failed: holding messages unacked, retrying'],
      ['debug', 'MongoDB write failed again'],
      ['debug', 'MongoDB write failed again'],
      ['info', 'MongoDB writes succeed again'],
    ]);
    // From the first failure through the waits between the four attempts (100, 200, 400 ms).
    expect(lines[3]?.[2]['outageMs']).toBeGreaterThanOrEqual(690);
  });
});
