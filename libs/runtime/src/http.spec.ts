import { sendRawHttp } from '@tally/devstack';
import { afterEach, describe, expect, it } from 'vitest';
import { createGetOnlyApp, isRequestTarget, startHttpServer, type HttpServer } from './http';

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

  async function start(): Promise<HttpServer> {
    told = [];
    server = await startHttpServer({ fetch: app.fetch, port: 0, examplePath: '/healthz', onBadRequest: (info) => told.push(info) });
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

  it('rejects when its port is taken', async () => {
    const { port } = await start();
    await expect(startHttpServer({ fetch: app.fetch, port, examplePath: '/healthz' })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
