import { createGetOnlyApp, startHttpServer, type HttpServer } from '@tally/runtime';
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

export type MetricsServer = HttpServer;

/**
 * Serves `GET /metrics` (Prometheus text format) and nothing else: 404 for other paths, 405 for
 * other methods, JSON errors as `{"error": {"code", "message"}}`. Resolves once listening.
 */
export function startMetricsServer({ registry, port, host, requestTimeoutMs }: MetricsServerOptions): Promise<MetricsServer> {
  const app = createGetOnlyApp(
    {
      '/metrics': async (c) => {
        const { contentType, body } = await renderMetrics(registry);
        return c.body(body, 200, { 'content-type': contentType });
      },
    },
    { notFoundMessage: () => 'This server serves /metrics only' },
  );
  return startHttpServer({ fetch: app.fetch, port, host, requestTimeoutMs, examplePath: '/metrics' });
}
