import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { getRequestListener, RequestError } from '@hono/node-server';
import { Hono, type Handler } from 'hono';
import { listen } from './listen';

/**
 * Tally's JSON servers (the API, the processor's probes, `/metrics`): routes as a Hono app, served
 * by Node's server with bounded request times, every error as `{"error": {"code", "message"}}`.
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
   * Longest time a client may take to send a request's headers, and the whole request (body
   * included); past it the connection is answered 408 and closed.
   * @default 5000
   */
  requestTimeoutMs?: number;
  /** A path it serves, named in the answer to a malformed request target ("send a path such as /healthz"). */
  examplePath: string;
  /**
   * The methods `fetch` serves somewhere: the `Allow` of the 405 answered to `CONNECT`, which never
   * reaches `fetch` (a `Request` cannot carry it).
   * @default "GET, HEAD"
   */
  allow?: string;
  /** Told about every request refused as malformed (answered 400), or as `CONNECT` (answered 405). */
  onBadRequest?: (info: { target: string; reason: string }) => void;
  /**
   * Told about unexpected errors: a request's that `fetch` did not answer (answered 500 without
   * details), or the server's once it listens. Without it, the server's errors are thrown.
   */
  onError?: (error: unknown) => void;
}

export interface HttpServer {
  /** The port it listens on (the one it got when asked for 0). */
  port: number;
  /** Stops accepting, drops idle keep-alive connections, and each other one once its request is answered; resolves then. */
  close(): Promise<void>;
}

/**
 * Serves `fetch` over HTTP/1.1. Whatever a client sends, it answers (a malformed request with a
 * JSON 400, also where Node would answer an empty one; a client too slow to send its request with
 * a JSON 408; `CONNECT`, which Node would not answer, with a JSON 405) or closes the connection: it
 * never throws. Resolves once listening; rejects when it cannot listen (the port is taken).
 */
export async function startHttpServer({
  fetch,
  port,
  host = '127.0.0.1',
  requestTimeoutMs = 5000,
  examplePath,
  allow = 'GET, HEAD',
  onBadRequest,
  onError,
}: HttpServerOptions): Promise<HttpServer> {
  const listener = getRequestListener(fetch, {
    errorHandler: (error) => {
      if (error instanceof RequestError) {
        onBadRequest?.({ target: '', reason: error.message });
        return jsonResponse(400, errorBody('invalid_request', 'Malformed request'));
      }
      onError?.(error);
      return jsonResponse(500, errorBody('internal', 'Internal error'));
    },
  });
  let closing = false;
  const server = createServer(
    // headersTimeout must not exceed requestTimeout; Node checks both every connectionsCheckingInterval.
    { requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, requestTimeoutMs) },
    (request, response) => {
      // A connection whose request was in flight at close is idle once answered: drop it then, not after keepAliveTimeout.
      response.once('finish', () => closing && server.closeIdleConnections());
      const target = request.url ?? '';
      if (isRequestTarget(target)) return void listener(request, response);
      onBadRequest?.({ target: target.slice(0, 200), reason: 'malformed request target' });
      sendJson(response, 400, errorBody('invalid_request', `Malformed request target: send a path such as ${examplePath}`));
    },
  );
  // A request Node cannot parse, or did not receive in time, never reaches the handler: answer it on the socket itself.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    onBadRequest?.({ target: '', reason: error.code ?? 'malformed request' });
    if (!socket.writable) return void socket.destroy();
    socket.end(
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? rawResponse(408, errorBody('timeout', `The request was not received within ${requestTimeoutMs} ms`))
        : rawResponse(400, errorBody('invalid_request', 'Malformed HTTP request')),
    );
  });
  // Node answers nothing to a CONNECT nobody handles: it closes the connection.
  server.on('connect', (request: IncomingMessage, socket: Socket) => {
    onBadRequest?.({ target: (request.url ?? '').slice(0, 200), reason: 'CONNECT' });
    socket.end(rawResponse(405, errorBody('method_not_allowed', 'CONNECT is not allowed: this server is not a proxy'), { Allow: allow }));
  });
  const listeningOn = await listen(server, port, host);
  if (onError) server.on('error', onError);
  return {
    port: listeningOn,
    close: () =>
      new Promise((resolve) => {
        closing = true;
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

/** A whole response for a raw socket (outside Node's response objects), closing the connection. */
function rawResponse(status: number, body: unknown, headers: Record<string, string> = {}): string {
  const text = JSON.stringify(body);
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${extra}Connection: close\r\n\r\n${text}`;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
