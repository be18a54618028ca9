export interface ManagementRequest {
  /** @default "GET" */
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Aborts the request after this long. */
  timeoutMs?: number;
}

/**
 * A request to the RabbitMQ management API at `managementUrl` (its credentials in the URL, e.g.
 * `http://guest:guest@127.0.0.1:15672`), `path` under `/api`; resolves with the response, unread.
 */
export function managementFetch(managementUrl: string, path: string, request: ManagementRequest = {}): Promise<Response> {
  const url = new URL(managementUrl);
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return fetch(`${url.origin}/api${path}`, {
    method: request.method ?? 'GET',
    headers: { authorization: `Basic ${btoa(credentials)}`, 'content-type': 'application/json', ...request.headers },
    body: request.body === undefined ? undefined : JSON.stringify(request.body),
    signal: request.timeoutMs === undefined ? undefined : AbortSignal.timeout(request.timeoutMs),
  });
}
