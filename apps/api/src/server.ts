import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { getRequestListener, RequestError } from '@hono/node-server';
import { isRequestTarget } from '@tally/runtime';
import { ApiError } from './errors';

export interface ServeOptions {
  fetch: (request: Request) => Response | Promise<Response>;
  port: number;
  /**
   * Address to listen on.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * Longest a client may take to send a request's headers, and the whole request (body included);
   * past it the connection is answered 408 and closed.
   * @default 5000
   */
  requestTimeoutMs?: number;
  /** Told about every request refused as malformed (answered 400 with the JSON error shape). */
  onBadRequest?: (info: { target: string; reason: string }) => void;
  /** Told about unexpected errors: a request's (answered 500 without details), or the server's once it listens. */
  onError?: (error: unknown) => void;
  /** Told when the server cannot start listening (the port is taken): the only error it gets before. */
  onStartupError?: (error: unknown) => void;
}

/** What the API serves somewhere, for the `Allow` of a method it serves nowhere. */
const SERVED_METHODS = 'GET, HEAD, POST';

/**
 * The API's HTTP server: `fetch` (the Hono app) behind Node's server, with bounded request times
 * and every malformed request answered as `{"error": {"code", "message"}}` rather than Node's or
 * the adapter's empty 400, or no answer at all (`CONNECT`). Listening starts at once; listen for
 * `listening`.
 */
export function startServer({
  fetch,
  port,
  host = '127.0.0.1',
  requestTimeoutMs = 5000,
  onBadRequest,
  onError,
  onStartupError,
}: ServeOptions): Server {
  const listener = getRequestListener(fetch, {
    errorHandler: (error) => {
      if (error instanceof RequestError) {
        onBadRequest?.({ target: '', reason: error.message });
        return json(new ApiError(400, 'invalid_request', 'Malformed request'));
      }
      onError?.(error);
      return json(new ApiError(500, 'internal', 'Internal error'));
    },
  });
  const server = createServer(
    // headersTimeout must not exceed requestTimeout; Node checks both every connectionsCheckingInterval.
    { requestTimeout: requestTimeoutMs, headersTimeout: requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, requestTimeoutMs) },
    (request: IncomingMessage, response: ServerResponse) => {
      const target = request.url ?? '';
      if (!isRequestTarget(target)) {
        onBadRequest?.({ target: target.slice(0, 200), reason: 'malformed request target' });
        const body = JSON.stringify(new ApiError(400, 'invalid_request', 'Malformed request target: send a path such as /status-counts').toJSON());
        response.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
        return;
      }
      void listener(request, response);
    },
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    onBadRequest?.({ target: '', reason: error.code ?? 'malformed request' });
    if (!socket.writable) return void socket.destroy();
    const [status, text, apiError] = timedOut
      ? [408, 'Request Timeout', new ApiError(408, 'timeout', `The request was not received within ${requestTimeoutMs} ms`)]
      : [400, 'Bad Request', new ApiError(400, 'invalid_request', 'Malformed HTTP request')];
    socket.end(rawResponse(status, text, apiError));
  });
  // Node answers nothing to a CONNECT nobody handles: it closes the connection.
  server.on('connect', (request: IncomingMessage, socket: Socket) => {
    onBadRequest?.({ target: (request.url ?? '').slice(0, 200), reason: 'CONNECT' });
    const error = new ApiError(405, 'method_not_allowed', 'CONNECT is not allowed: the API is not a proxy');
    socket.end(rawResponse(405, 'Method Not Allowed', error, { Allow: SERVED_METHODS }));
  });
  let listening = false;
  server.once('listening', () => (listening = true));
  server.on('error', (error) => (listening ? onError : onStartupError)?.(error));
  server.listen(port, host);
  return server;
}

/** A whole response for a raw socket (outside Node's response objects), closing the connection. */
function rawResponse(status: number, text: string, error: ApiError, headers: Record<string, string> = {}): string {
  const body = JSON.stringify(error.toJSON());
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`;
}

function json(error: ApiError): Response {
  return new Response(JSON.stringify(error.toJSON()), {
    status: error.status,
    headers: { 'content-type': 'application/json' },
  });
}
