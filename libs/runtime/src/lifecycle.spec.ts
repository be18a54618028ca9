import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeError, onShutdown } from './lifecycle';

describe('describeError', () => {
  it('gives one line with the code and the cause, no stack, and no password', () => {
    const cause = Object.assign(new Error('getaddrinfo ENOTFOUND db\n    at x'), { code: 'ENOTFOUND' });
    const error = new Error('cannot reach mongodb://tally:pa/ss-SECRET@db:27017/tally', { cause });
    expect(describeError(error)).toBe('cannot reach mongodb://tally:***@db:27017/tally (ENOTFOUND: getaddrinfo ENOTFOUND db at x)');
    expect(describeError('plain\nsecond line')).toBe('plain');
  });
});

describe('onShutdown', () => {
  class Exit extends Error {
    constructor(readonly code: number | undefined) {
      super(`exit ${code}`);
    }
  }
  const logger = pino({ level: 'silent' });
  let handlers: Map<string, (signal: NodeJS.Signals) => void>;
  let exits: (number | undefined)[];
  let exitReturns: boolean;

  beforeEach(() => {
    vi.useFakeTimers();
    handlers = new Map();
    exits = [];
    // The handlers are captured, not installed: this test process is never really signalled.
    vi.spyOn(process, 'on').mockImplementation(((event: string, handler: (signal: NodeJS.Signals) => void) => {
      handlers.set(event, handler);
      return process;
    }) as typeof process.on);
    // process.exit never returns: the stub throws, so that nothing after it runs, except where it
    // is called last in a promise's callback (a throw there would only be an unhandled rejection).
    exitReturns = false;
    vi.spyOn(process, 'exit').mockImplementation((code) => {
      exits.push(code === undefined ? undefined : Number(code));
      if (exitReturns) return undefined as never;
      throw new Exit(code === undefined ? undefined : Number(code));
    });
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  const signal = (name: NodeJS.Signals) => handlers.get(name)?.(name);

  it('closes once on SIGTERM or SIGINT, then exits 0', async () => {
    exitReturns = true;
    const close = vi.fn(() => Promise.resolve());
    onShutdown(close, { logger });
    expect([...handlers.keys()].sort()).toEqual(['SIGINT', 'SIGTERM']);
    signal('SIGTERM');
    expect(close).toHaveBeenCalledTimes(1);
    await expect.poll(() => exits).toEqual([0]);
  });

  it('exits 1 when the close fails', async () => {
    exitReturns = true;
    onShutdown(() => Promise.reject(new Error('broker gone')), { logger });
    signal('SIGINT');
    await expect.poll(() => exits).toEqual([1]);
  });

  it('exits 1 when the close overruns graceMs, and not before', () => {
    const close = vi.fn(() => new Promise<void>(() => undefined));
    onShutdown(close, { logger, graceMs: 5_000 });
    signal('SIGTERM');
    vi.advanceTimersByTime(4_999);
    expect(exits).toEqual([]);
    expect(() => vi.advanceTimersByTime(1)).toThrow(Exit);
    expect(exits).toEqual([1]);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('exits 1 at once on a second signal, without closing again', () => {
    const close = vi.fn(() => new Promise<void>(() => undefined));
    onShutdown(close, { logger, graceMs: 5_000 });
    signal('SIGTERM');
    expect(exits).toEqual([]);
    expect(() => signal('SIGINT')).toThrow(Exit);
    expect(exits).toEqual([1]);
    expect(close).toHaveBeenCalledTimes(1);
  });
});
