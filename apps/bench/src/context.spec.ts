import { describe, expect, it } from 'vitest';
import { createCleanup } from './context';

describe('createCleanup', () => {
  it('runs a step once, whether called or left for runAll, newest first', async () => {
    const cleanup = createCleanup();
    const ran: string[] = [];
    const first = cleanup.defer(async () => ran.push('first'));
    const second = cleanup.defer(async () => ran.push('second'));
    cleanup.defer(async () => ran.push('third'));
    await second();
    await second();
    await cleanup.runAll();
    await first();
    expect(ran).toEqual(['second', 'third', 'first']);
  });

  it('waits in runAll for a step already running', async () => {
    const cleanup = createCleanup();
    let finished = false;
    const slow = cleanup.defer(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      finished = true;
    });
    void slow();
    await cleanup.runAll();
    expect(finished).toBe(true);
  });

  it('runs every step even when one fails', async () => {
    const cleanup = createCleanup();
    const ran: string[] = [];
    cleanup.defer(async () => ran.push('first'));
    cleanup.defer(async () => {
      throw new Error('gone already');
    });
    await cleanup.runAll();
    expect(ran).toEqual(['first']);
  });
});
