import { createServer, type Server } from 'node:http';
import { listen } from '@tally/runtime';
import type { Registry } from 'prom-client';
import { renderMetrics } from './registry';

export interface MetricsServerOptions {
  registry: Registry;
  /** TCP port; 0 picks a free one. */
  port: number;
  /**
   * Address to listen on.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * Longest a client may take to send a request.
   * @default 5000
   */
  requestTimeoutMs?: number;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text format) and nothing else: 404 for other paths, 405 for
 * other methods, JSON errors as `{"error": {"code", "message"}}`. Resolves once listening.
 */
export async function startMetricsServer({ registry, port, host = '127.0.0.1', requestTimeoutMs = 5000 }: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer({ requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs }, (request, response) => {
    const sendError = (status: number, code: string, message: string) => {
      const body = JSON.stringify({ error: { code, message } });
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    };
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics') return sendError(404, 'not_found', 'This server serves /metrics only');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return sendError(405, 'method_not_allowed', `${request.method} is not allowed; use GET`);
    }
    renderMetrics(registry).then(
      ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(request.method === 'HEAD' ? undefined : body),
      () => sendError(500, 'internal', 'Internal error'),
    );
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  return {
    port: await listen(server, port, host),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
