import { createLogger } from '@tally/runtime';
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
