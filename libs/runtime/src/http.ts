import { createServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { getRequestListener, RequestError } from '@hono/node-server';
import { Hono, type Handler } from 'hono';
import { listen } from './listen';

/**
 * Small JSON servers beside an app (the processor's probes, `/metrics`): routes as a Hono app,
 * served by Node's server with bounded request times, every error as `{"error": {"code", "message"}}`.
 */

/** The body of every error these servers answer. */
function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** Handlers by path, e.g. `{ '/healthz': (c) => c.json({ status: 'ok' }) }`. */
export type GetRoutes = Record<string, Handler>;

export interface GetOnlyAppOptions {
  /** The message of the 404 for a path it does not serve, told that path (at most 200 characters). */
  notFoundMessage: (path: string) => string;
}

/**
 * A Hono app that serves `routes` on GET (and HEAD, without the body) and nothing else: 404 for
 * any other path whatever the method, 405 with `Allow: GET, HEAD` for any other method, 500 when
 * a route throws.
 */
export function createGetOnlyApp(routes: GetRoutes, { notFoundMessage }: GetOnlyAppOptions): Hono {
  const app = new Hono();
  for (const [path, handler] of Object.entries(routes)) {
    app.get(path, handler);
    app.all(path, (c) => {
      c.header('allow', 'GET, HEAD');
      return c.json(errorBody('method_not_allowed', `${c.req.method} is not allowed; use GET`), 405);
    });
  }
  app.notFound((c) => c.json(errorBody('not_found', notFoundMessage(c.req.path.slice(0, 200))), 404));
  app.onError((_error, c) => c.json(errorBody('internal', 'Internal error'), 500));
  return app;
}

export interface HttpServerOptions {
  /** What answers each request, e.g. a Hono app's `fetch`. */
  fetch: (request: Request) => Response | Promise<Response>;
  /** TCP port; 0 picks a free one. */
  port: number;
  /**
   * Address to listen on.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * Longest time a client may take to send a request's headers, and the whole request.
   * @default 5000
   */
  requestTimeoutMs?: number;
  /** A path it serves, named in the answer to a malformed request target ("send a path such as /healthz"). */
  examplePath: string;
  /** Told about every request refused as malformed (answered 400). */
  onBadRequest?: (info: { target: string; reason: string }) => void;
}

export interface HttpServer {
  /** The port it listens on (the one it got when asked for 0). */
  port: number;
  /** Stops accepting, drops idle keep-alive connections; resolves once the open ones are done. */
  close(): Promise<void>;
}

/**
 * Serves `fetch` over HTTP/1.1. Whatever a client sends, it answers (a malformed request with a
 * JSON 400, also where Node would answer an empty one) or closes the connection: it never throws.
 * Resolves once listening; rejects when it cannot listen (the port is taken).
 */
export async function startHttpServer({
  fetch,
  port,
  host = '127.0.0.1',
  requestTimeoutMs = 5000,
  examplePath,
  onBadRequest,
}: HttpServerOptions): Promise<HttpServer> {
  const listener = getRequestListener(fetch, {
    errorHandler: (error) => {
      if (!(error instanceof RequestError)) return jsonResponse(500, errorBody('internal', 'Internal error'));
      onBadRequest?.({ target: '', reason: error.message });
      return jsonResponse(400, errorBody('invalid_request', 'Malformed request'));
    },
  });
  const server = createServer({ requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs }, (request, response) => {
    const target = request.url ?? '';
    if (isRequestTarget(target)) return void listener(request, response);
    onBadRequest?.({ target: target.slice(0, 200), reason: 'malformed request target' });
    sendJson(response, 400, errorBody('invalid_request', `Malformed request target: send a path such as ${examplePath}`));
  });
  // A request Node cannot parse never reaches the handler: answer it on the socket itself.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    onBadRequest?.({ target: '', reason: error.code ?? 'malformed request' });
    if (!socket.writable) return void socket.destroy();
    const body = JSON.stringify(errorBody('invalid_request', 'Malformed HTTP request'));
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  return {
    port: await listen(server, port, host),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** An origin-form target (`/path?query`), or an absolute-form http(s) URL that parses. */
export function isRequestTarget(target: string): boolean {
  if (target.startsWith('/')) return true;
  if (!/^https?:\/\//i.test(target)) return false;
  return URL.canParse(target);
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
