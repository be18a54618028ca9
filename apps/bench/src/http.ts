import { Agent, request } from 'node:http';

export interface HttpResponse {
  status: number;
  body: string;
}

export interface HttpClient {
  /** One request; no client-side time limit (a full scan may take minutes on a big collection). */
  send(method: string, path: string, json?: unknown): Promise<HttpResponse>;
  close(): void;
}

export interface HttpClientOptions {
  /** `http://host:port` */
  baseUrl: string;
  /**
   * Keep-alive connections opened at most.
   * @default 64
   */
  maxSockets?: number;
}

/** A keep-alive HTTP/1.1 client on node:http (fetch's client gives up on a response after 300 s). */
export function createHttpClient({ baseUrl, maxSockets = 64 }: HttpClientOptions): HttpClient {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets });
  const send = (method: string, path: string, json?: unknown, attempt = 1): Promise<HttpResponse> =>
    new Promise((resolve, reject) => {
      const body = json === undefined ? undefined : JSON.stringify(json);
      const headers =
        body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method,
          path,
          headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        // The server closed a kept-alive connection just as this request went out on it (its idle
        // timeout passed while the harness ran raw pipelines): once more, on a fresh connection —
        // every request of the harness only reads.
        if (req.reusedSocket && error.code === 'ECONNRESET' && attempt === 1) resolve(send(method, path, json, attempt + 1));
        else reject(error);
      });
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

export interface LoadOptions {
  client: HttpClient;
  path: string;
  /** Requests in flight at once. */
  concurrency: number;
  seconds: number;
}

export interface LoadResult {
  requests: number;
  /** Responses other than 200, and failed requests. */
  errors: number;
  seconds: number;
  perSecond: number;
}

/** GETs `path` with `concurrency` requests in flight for `seconds`. */
export async function runLoad({ client, path, concurrency, seconds }: LoadOptions): Promise<LoadResult> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let requests = 0;
  let errors = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      try {
        const { status } = await client.send('GET', path);
        if (status !== 200) errors++;
      } catch {
        errors++;
      }
      requests++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  return { requests, errors, seconds: elapsed, perSecond: Math.round(requests / elapsed) };
}
