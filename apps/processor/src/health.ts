import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listen } from '@tally/runtime';

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

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves the processor's probes: `/healthz` (200 while the process runs) and `/readyz` (200 while
 * it consumes, 503 otherwise), JSON bodies; errors as `{"error": {"code", "message"}}`. Whatever a
 * client sends, it answers or closes the connection: it never throws. Resolves once listening.
 */
export async function startHealthServer({
  port,
  host = '127.0.0.1',
  readiness,
  metrics,
  requestTimeoutMs = 5000,
  onBadRequest,
}: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer({ requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs }, (request, response) => {
    route(request, response, readiness, onBadRequest, metrics).catch(() => {
      if (!response.headersSent) send(response, 500, error('internal', 'Internal error'));
      else response.destroy();
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    onBadRequest?.({ target: '', reason: err.code ?? 'malformed request' });
    if (!socket.writable) return void socket.destroy();
    const body = JSON.stringify(error('invalid_request', 'Malformed HTTP request'));
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  return {
    port: await listen(server, port, host),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function route(
  request: IncomingMessage,
  response: ServerResponse,
  readiness: HealthServerOptions['readiness'],
  onBadRequest: HealthServerOptions['onBadRequest'],
  metrics: HealthServerOptions['metrics'],
): Promise<void> {
  const target = request.url ?? '';
  const path = pathOf(target);
  if (path === undefined) {
    onBadRequest?.({ target: target.slice(0, 200), reason: 'malformed request target' });
    return send(response, 400, error('invalid_request', 'Malformed request target: send a path such as /healthz'));
  }
  const routes = metrics ? ['/healthz', '/readyz', '/metrics'] : ['/healthz', '/readyz'];
  if (!routes.includes(path)) {
    const list = `${routes.slice(0, -1).join(', ')} and ${routes.at(-1)}`;
    return send(response, 404, error('not_found', `No route ${path.slice(0, 200)}; the processor serves ${list}`));
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    return send(response, 405, error('method_not_allowed', `${request.method} is not allowed; use GET`));
  }
  if (path === '/healthz') return send(response, 200, { status: 'ok' });
  if (path === '/readyz') {
    const { ready, detail } = await readiness();
    return send(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...detail });
  }
  const { contentType, body } = await (metrics as NonNullable<typeof metrics>)();
  response.writeHead(200, { 'content-type': contentType }).end(body);
}

/** The path of an origin-form (`/readyz?x`) or http(s) absolute-form request target, else `undefined`. */
export function pathOf(target: string): string | undefined {
  if (target.startsWith('/')) return target.split('?')[0];
  if (!/^https?:\/\//i.test(target)) return undefined;
  try {
    return new URL(target).pathname;
  } catch {
    return undefined;
  }
}

const error = (code: string, message: string) => ({ error: { code, message } });

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
