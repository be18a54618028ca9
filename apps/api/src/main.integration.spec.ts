import { createConnection } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { freePort, runApp, sendRawHttp, testDatabase, waitForDevstack, type RunningApp } from '@tally/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const appDir = join(import.meta.dirname, '..');
let api: RunningApp;
let port: number;
let env: Record<string, string>;

beforeAll(async () => {
  const { mongodbUri, amqpUrl } = await waitForDevstack();
  port = await freePort();
  env = {
    AMQP_URL: amqpUrl,
    MONGODB_URI: testDatabase(mongodbUri, 'api_main_test').uri,
    API_PORT: String(port),
    API_REQUEST_TIMEOUT_MS: '1000',
  };
  api = runApp({ appDir, env });
  await api.waitForLog('listening');
});

afterAll(async () => {
  api?.kill('SIGTERM');
  expect(await api?.exited).toBe(0);
});

const raw = (target: string) =>
  sendRawHttp({ port, request: `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n` });

describe('the API server, exposure', () => {
  it('listens on 127.0.0.1 only, unless API_HOST says otherwise', async () => {
    expect(await api.waitForLog('listening')).toMatchObject({ host: '127.0.0.1', port });
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((address) => address?.family === 'IPv4' && !address.internal)?.address;
    if (outside === undefined) return; // no other interface on this machine to try
    const connected = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: outside, port });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      socket.setTimeout(2000, () => done(false));
    });
    expect(connected).toBe(false);
  });
});

describe('the API server', () => {
  it.each(['*', 'http://[', 'http://[/healthz', 'http://[::1/healthz', 'ftp://host/healthz'])(
    'answers the malformed request target %s with a JSON 400, logs it, and stays up',
    async (target) => {
      const response = await raw(target);
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(response.body)).toEqual({ error: { code: 'invalid_request', message: expect.any(String) } });
      expect(response.body).not.toMatch(/\n\s+at /);
      await expect.poll(() => api.lines.some((line) => line.msg === 'bad request' && line['target'] === target)).toBe(true);
      expect((await raw('/healthz')).status).toBe(200);
    },
  );
});

describe('the API server, slow clients', () => {
  it.each([
    ['headers', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'],
    ['body', 'POST /status-counts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"start'],
  ])('closes a connection whose %s do not arrive within API_REQUEST_TIMEOUT_MS (1 s here), with a JSON 408', async (_, request) => {
    const started = Date.now();
    const response = await sendRawHttp({ port, request, timeoutMs: 20_000 });
    expect(response.status).toBe(408);
    // The bound that closed it is the configured one (the server's default is 5 s, Node's 60 s and 300 s).
    expect(JSON.parse(response.body)).toEqual({ error: { code: 'timeout', message: 'The request was not received within 1000 ms' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe('the API server, methods', () => {
  it.each(['/healthz', '/readyz', '/status-counts', '/openapi.json'])('answers TRACE %s with a JSON 405 and an Allow header', async (path) => {
    const response = await sendRawHttp({ port, request: `TRACE ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n` });
    expect(response.status).toBe(405);
    expect(response.headers['allow']).toMatch(/^GET, HEAD/);
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'method_not_allowed' } });
  });
});

describe('the API server, CONNECT', () => {
  it.each(['127.0.0.1:443', '/healthz'])('answers CONNECT %s with a JSON 405 rather than closing the connection', async (target) => {
    const response = await sendRawHttp({ port, request: `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n` });
    expect(response.status).toBe(405);
    expect(response.headers['allow']).toBe('GET, HEAD, POST');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(response.body)).toEqual({ error: { code: 'method_not_allowed', message: expect.stringMatching(/CONNECT/) } });
    expect((await raw('/healthz')).status).toBe(200);
  });
});

describe('the API at start-up', () => {
  it('exits 1 with one line when its port is taken', async () => {
    const second = runApp({ appDir, env });
    expect(await second.exited).toBe(1);
    const errors = second.lines.filter((line) => line.level >= 50);
    expect(errors).toHaveLength(1);
    expect(JSON.stringify(errors[0])).toContain('EADDRINUSE');
    expect(second.lines.filter((line) => /"stack"|\\n\s+at /.test(JSON.stringify(line)))).toEqual([]);
  });
});
