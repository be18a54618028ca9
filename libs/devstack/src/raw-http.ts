import { createConnection } from 'node:net';

export interface RawHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawHttpOptions {
  port: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** The request as sent, byte for byte; no client would send a malformed request target. */
  request: string;
  /**
   * Longest wait for the server to answer and close the connection.
   * @default 10_000
   */
  timeoutMs?: number;
}

/**
 * Sends one raw HTTP/1.1 request and reads the response until the server closes the connection
 * (send `Connection: close`). For tests of what a server does with requests no client would make.
 */
export function sendRawHttp({ port, host = '127.0.0.1', request, timeoutMs = 10_000 }: RawHttpOptions): Promise<RawHttpResponse> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port }, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms`));
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const status = Number(statusLine.split(' ')[1]);
      if (!Number.isInteger(status)) return reject(new Error(`not an HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
      const headers = Object.fromEntries(
        headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      const body = rest.join('\r\n\r\n');
      resolve({ status, headers, body: headers['transfer-encoding'] === 'chunked' ? unchunk(body) : body });
    });
  });
}

function unchunk(text: string): string {
  let body = '';
  for (let at = 0; at < text.length; ) {
    const lineEnd = text.indexOf('\r\n', at);
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (!(size > 0)) break;
    body += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
  return body;
}
