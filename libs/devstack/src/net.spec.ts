import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { canConnect, freePort, waitUntil } from './net';

const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((server) => server.close()));

function listen(): Promise<number> {
  const server = createServer();
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

describe('freePort', () => {
  it('returns the preferred port when nothing listens there', async () => {
    const port = await freePort();
    expect(await freePort(port)).toBe(port);
  });

  it('returns another port when the preferred one is taken', async () => {
    const taken = await listen();
    const port = await freePort(taken);
    expect(port).not.toBe(taken);
    expect(await canConnect('127.0.0.1', port)).toBe(false);
  });
});

describe('waitUntil', () => {
  it('resolves once the check passes', async () => {
    let calls = 0;
    await waitUntil('three calls', async () => ++calls === 3, { timeoutMs: 5000, intervalMs: 1 });
    expect(calls).toBe(3);
  });

  it('names what it waited for when it times out', async () => {
    await expect(waitUntil('the moon', async () => false, { timeoutMs: 20, intervalMs: 5 })).rejects.toThrow(
      'Timed out after 20 ms waiting for the moon',
    );
  });

  it('stops as soon as abort returns an error', async () => {
    await expect(
      waitUntil('a server', async () => false, { timeoutMs: 60_000, abort: () => new Error('server exited') }),
    ).rejects.toThrow('server exited');
  });
});
