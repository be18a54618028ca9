import { request as httpRequest, Agent } from 'node:http';
import { Server as NetServer } from 'node:net';
import { sendRawHttp } from '@tally/devstack';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGetOnlyApp, isRequestTarget, startHttpServer, type HttpServer, type HttpServerOptions } from './http';

const app = createGetOnlyApp(
  {
    '/healthz': (c) => c.json({ status: 'ok' }),
    '/broken': () => {
      throw new Error('boom');
    },
  },
  { notFoundMessage: (path) => `No route ${path}; this serves /healthz` },
);

describe('createGetOnlyApp', () => {
  it('serves its routes on GET, and on HEAD without the body', async () => {
    const get = await app.request('/healthz?verbose');
    expect([get.status, get.headers.get('content-type'), await get.json()]).toEqual([200, 'application/json', { status: 'ok' }]);
    const head = await app.request('/healthz', { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
  });

  it('answers another method 405 with Allow, and another path 404 whatever the method', async () => {
    const post = await app.request('/healthz', { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect(await post.json()).toEqual({ error: { code: 'method_not_allowed', message: 'POST is not allowed; use GET' } });
    for (const method of ['GET', 'POST', 'DELETE']) {
      const response = await app.request('/status', { method });
      expect([response.status, await response.json()]).toEqual([
        404,
        { error: { code: 'not_found', message: 'No route /status; this serves /healthz' } },
      ]);
    }
  });

  it('answers a route that throws 500 without its details', async () => {
    const response = await app.request('/broken');
    expect([response.status, await response.json()]).toEqual([500, { error: { code: 'internal', message: 'Internal error' } }]);
  });
});

describe('isRequestTarget', () => {
  it('takes origin-form targets and absolute http(s) URLs that parse, nothing else', () => {
    for (const target of ['/', '/healthz?x=1', 'http://127.0.0.1/readyz', 'HTTPS://host:8443/metrics']) expect(isRequestTarget(target)).toBe(true);
    for (const target of ['', '*', 'healthz', 'http://[', 'http://[/healthz', 'ftp://host/healthz']) expect(isRequestTarget(target)).toBe(false);
  });
});

describe('startHttpServer', () => {
  let server: HttpServer | undefined;
  let told: { target: string; reason: string }[];
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(options: Partial<HttpServerOptions> = {}): Promise<HttpServer> {
    told = [];
    server = await startHttpServer({ fetch: app.fetch, port: 0, examplePath: '/healthz', onBadRequest: (info) => told.push(info), ...options });
    return server;
  }
  const raw = (port: number, head: string) => sendRawHttp({ port, request: `${head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n` });

  it('serves origin-form and absolute-form targets', async () => {
    const { port } = await start();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await raw(port, 'GET http://127.0.0.1/healthz HTTP/1.1')).status).toBe(200);
    expect(told).toEqual([]);
  });

  it('answers a malformed request target with a JSON 400 naming a path it serves, and tells it', async () => {
    const { port } = await start();
    for (const target of ['*', 'http://[/healthz', 'ftp://host/healthz']) {
      const response = await raw(port, `GET ${target} HTTP/1.1`);
      expect([response.status, response.headers['content-type'], JSON.parse(response.body)]).toEqual([
        400,
        'application/json',
        { error: { code: 'invalid_request', message: 'Malformed request target: send a path such as /healthz' } },
      ]);
    }
    expect(told).toEqual(['*', 'http://[/healthz', 'ftp://host/healthz'].map((target) => ({ target, reason: 'malformed request target' })));
  });

  it('answers a request Node cannot parse with a raw JSON 400, and tells it', async () => {
    const { port } = await start();
    const response = await sendRawHttp({ port, request: 'NOT HTTP AT ALL\r\n\r\n' });
    expect([response.status, JSON.parse(response.body)]).toEqual([400, { error: { code: 'invalid_request', message: 'Malformed HTTP request' } }]);
    expect(told).toEqual([{ target: '', reason: expect.any(String) }]);
  });

  it.each([
    ['headers', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'],
    ['body', 'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"partial'],
  ])('answers a client whose %s do not arrive within requestTimeoutMs with a raw JSON 408, and tells it', async (_, request) => {
    // A handler that reads the body, as the API's do: one that answers first leaves the connection open for the rest.
    const { port } = await start({ requestTimeoutMs: 300, fetch: async (request) => new Response(await request.text()) });
    const started = Date.now();
    const response = await sendRawHttp({ port, request });
    expect([response.status, response.headers['content-type'], JSON.parse(response.body)]).toEqual([
      408,
      'application/json',
      { error: { code: 'timeout', message: 'The request was not received within 300 ms' } },
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(told).toEqual([{ target: '', reason: 'ERR_HTTP_REQUEST_TIMEOUT' }]);
  });

  it.each([
    [undefined, 'GET, HEAD'],
    ['GET, HEAD, POST', 'GET, HEAD, POST'],
  ])('answers CONNECT with a JSON 405 (Allow %s given), tells it, and stays up', async (allow, header) => {
    const { port } = await start(allow === undefined ? {} : { allow });
    for (const target of ['127.0.0.1:443', '/healthz']) {
      const response = await sendRawHttp({ port, request: `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n` });
      expect([response.status, response.headers['allow'], response.headers['content-type'], JSON.parse(response.body)]).toEqual([
        405,
        header,
        'application/json',
        { error: { code: 'method_not_allowed', message: 'CONNECT is not allowed: this server is not a proxy' } },
      ]);
    }
    expect(told).toEqual([
      { target: '127.0.0.1:443', reason: 'CONNECT' },
      { target: '/healthz', reason: 'CONNECT' },
    ]);
    expect((await raw(port, 'GET /healthz HTTP/1.1')).status).toBe(200);
  });

  it('answers 500 without details when fetch throws, and tells the error', async () => {
    const errors: unknown[] = [];
    const boom = new Error('boom');
    const { port } = await start({
      fetch: () => {
        throw boom;
      },
      onError: (error) => errors.push(error),
    });
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect([response.status, await response.json()]).toEqual([500, { error: { code: 'internal', message: 'Internal error' } }]);
    expect(errors).toEqual([boom]);
  });

  it("tells the server's errors once it listens to onError", async () => {
    const listen = vi.spyOn(NetServer.prototype, 'listen');
    const errors: unknown[] = [];
    let listening: NetServer | undefined;
    try {
      await start({ onError: (error) => errors.push(error) });
      listening = listen.mock.contexts[0] as NetServer;
    } finally {
      listen.mockRestore();
    }
    const later = Object.assign(new Error('accept ENFILE'), { code: 'ENFILE', syscall: 'accept' });
    listening.emit('error', later);
    expect(errors).toEqual([later]);
  });

  it('on close, drops idle keep-alive connections at once and finishes a request in flight first', async () => {
    let received = false;
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const running = await start({
      fetch: async (request) => {
        if (new URL(request.url).pathname === '/slow') {
          received = true;
          await slow;
        }
        return new Response('ok');
      },
    });
    const { port } = running;
    const agent = new Agent({ keepAlive: true });
    const get = (path: string) =>
      new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
        httpRequest({ port, host: '127.0.0.1', path, agent }, (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode, body }));
        })
          .on('error', reject)
          .end();
      });
    const idleSockets = () => Object.values(agent.freeSockets).flat().length;
    try {
      const inFlight = get('/slow');
      await expect.poll(() => received).toBe(true);
      expect(await get('/idle')).toEqual({ status: 200, body: 'ok' });
      expect(idleSockets()).toBe(1);
      let closed = false;
      const closing = running.close().then(() => (closed = true));
      server = undefined;
      await expect.poll(idleSockets).toBe(0);
      expect(closed).toBe(false);
      release();
      expect(await inFlight).toEqual({ status: 200, body: 'ok' });
      // Well within Node's 5 s keep-alive timeout: the connection of the finished request is not kept either.
      await expect.poll(() => closed, { timeout: 1000 }).toBe(true);
      await closing;
    } finally {
      release();
      agent.destroy();
    }
  });

  it('rejects when its port is taken', async () => {
    const { port } = await start();
    await expect(startHttpServer({ fetch: app.fetch, port, examplePath: '/healthz' })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
