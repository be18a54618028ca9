import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from './server';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

function start(port: number) {
  const told: { startup: unknown[]; later: unknown[] } = { startup: [], later: [] };
  const server = startServer({
    fetch: () => new Response('ok'),
    port,
    onStartupError: (error) => told.startup.push(error),
    onError: (error) => told.later.push(error),
  });
  servers.push(server);
  return { server, told };
}

describe('startServer', () => {
  it('tells a port it cannot listen on as a start-up error', async () => {
    const taken = createServer();
    servers.push(taken);
    await once(taken.listen(0, '127.0.0.1'), 'listening');
    const { told } = start((taken.address() as AddressInfo).port);
    await expect.poll(() => told.startup).toHaveLength(1);
    expect(told.startup[0]).toMatchObject({ code: 'EADDRINUSE' });
    expect(told.later).toEqual([]);
  });

  it('tells an error of the server once it listens as an error, not as a start-up error', async () => {
    const { server, told } = start(0);
    await once(server, 'listening');
    const later = Object.assign(new Error('accept ENFILE'), { code: 'ENFILE', syscall: 'accept' });
    server.emit('error', later);
    expect(told).toEqual({ startup: [], later: [later] });
  });
});
