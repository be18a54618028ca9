import { createGetOnlyApp, startHttpServer, type GetRoutes, type HttpServer } from '@tally/runtime';

export interface Readiness {
  ready: boolean;
  /** Shown in the body, for a person reading the probe's output. */
  detail: Record<string, unknown>;
}

export interface HealthServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /**
   * Address to listen on.
   * @default "127.0.0.1"
   */
  host?: string;
  /** Asked on every `/readyz`; should answer within a second or two. */
  readiness: () => Readiness | Promise<Readiness>;
  /** When given, `/metrics` answers its text (Prometheus format) with its content type. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /**
   * Longest time a client may take to send a request's headers, and the whole request.
   * @default 5000
   */
  requestTimeoutMs?: number;
  /** Told about every request refused as malformed (answered 400). */
  onBadRequest?: (info: { target: string; reason: string }) => void;
}

export type HealthServer = HttpServer;

/**
 * Serves the processor's probes: `/healthz` (200 while the process runs) and `/readyz` (200 while
 * it consumes, 503 otherwise), JSON bodies, and `/metrics` when given; GET only, errors as
 * `{"error": {"code", "message"}}`. Resolves once listening.
 */
export function startHealthServer({ port, host, readiness, metrics, requestTimeoutMs, onBadRequest }: HealthServerOptions): Promise<HealthServer> {
  const routes: GetRoutes = {
    '/healthz': (c) => c.json({ status: 'ok' }),
    '/readyz': async (c) => {
      const { ready, detail } = await readiness();
      return c.json({ status: ready ? 'ready' : 'not ready', ...detail }, ready ? 200 : 503);
    },
  };
  if (metrics) {
    routes['/metrics'] = async (c) => {
      const { contentType, body } = await metrics();
      return c.body(body, 200, { 'content-type': contentType });
    };
  }
  const paths = Object.keys(routes);
  const served = `${paths.slice(0, -1).join(', ')} and ${paths.at(-1)}`;
  const app = createGetOnlyApp(routes, { notFoundMessage: (path) => `No route ${path}; the processor serves ${served}` });
  return startHttpServer({ fetch: app.fetch, port, host, requestTimeoutMs, examplePath: '/healthz', onBadRequest });
}
