import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, ephemeralPorts, freePort, waitUntil } from './net';

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

  it('picks ports below the kernel\'s ephemeral ones, which outgoing connections take their own from', async () => {
    const [firstEphemeral] = ephemeralPorts() ?? [];
    expect(firstEphemeral, 'the range is read on Linux').toBeGreaterThan(10_000);
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) expect(port).toBeGreaterThanOrEqual(10_000);
    for (const port of ports) expect(port).toBeLessThan(firstEphemeral as number);
  });

  it('reads the ephemeral range, and nothing from a file that does not hold one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-ports-'));
    writeFileSync(join(dir, 'range'), '32768\t60999\n');
    writeFileSync(join(dir, 'junk'), 'no ports\n');
    try {
      expect(ephemeralPorts(join(dir, 'range'))).toEqual([32768, 60999]);
      expect(ephemeralPorts(join(dir, 'junk'))).toBeUndefined();
      expect(ephemeralPorts(join(dir, 'missing'))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
