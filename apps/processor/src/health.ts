import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Readiness {
  ready: boolean;
  /** Shown in the body, for a person reading the probe's output. */
  detail: Record<string, unknown>;
}

/**
 * Serves the processor's probes: `/healthz` (200 while the process runs) and `/readyz` (200 while
 * it consumes, 503 otherwise), JSON bodies. Resolves with the port once listening.
 */
export async function startHealthServer(port: number, readiness: () => Readiness): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://processor').pathname;
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      send(405, { error: `${request.method} is not allowed; use GET` });
    } else if (path === '/healthz') send(200, { status: 'ok' });
    else if (path === '/readyz') {
      const { ready, detail } = readiness();
      send(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...detail });
    } else send(404, { error: `no route ${path}; the processor serves /healthz and /readyz` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
