import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createApp } from './app';
import { buildDocsAssets } from './assets';
import { openApiDocument } from './openapi';
import { MAX_BODY_BYTES } from './routes/json-body';
import { servedMethods } from './routes/methods';
import type { CountsStore } from './store';
import { memoryStore, type Reading } from './test/memory-store';
import { TIME_PATTERN } from './time';

const readings: Reading[] = [
  { status: 1, ts: new Date('2024-01-31T00:00:00Z') },
  { status: 1, ts: new Date('2024-01-31T12:00:00Z') },
  { status: 6, ts: new Date('2024-01-31T23:59:59.999Z') },
  { status: 2, ts: new Date('2024-02-01T00:00:00Z') },
];

const app = createApp({ store: memoryStore(readings) });

interface Operation {
  parameters: { name: string; schema: { pattern?: string } }[];
  responses: Record<string, { description: string; headers: Record<string, { schema: unknown }> }>;
}
/** The app's OpenAPI document, as the tests read it. */
const openApi = () =>
  openApiDocument(app) as unknown as {
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, { required?: string[]; properties: Record<string, { pattern?: string }> }> };
  };

const post = (body: string, type = 'application/json', target = app) =>
  target.request('/status-counts', { method: 'POST', headers: { 'content-type': type }, body });
const postJson = (value: unknown) => post(JSON.stringify(value));
const postTo = (target: ReturnType<typeof createApp>, body: string) => post(body, 'application/json', target);

async function expectError(response: Response, status: number, code: string, message?: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  if (message) expect(body.error.message).toMatch(message);
  expect(JSON.stringify(body)).not.toMatch(/\bat .+:\d+:\d+/); // no stack trace
}

describe('POST /status-counts', () => {
  it('counts each status in [start_time, end_time), every key present', async () => {
    const response = await postJson({ start_time: '2024-01-31T00:00:00Z', end_time: '2024-02-01T00:00:00Z' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ 0: 0, 1: 2, 2: 0, 3: 0, 4: 0, 5: 0, 6: 1 });
  });

  it('accepts years 0000-0099 as they are, and expanded years', async () => {
    const response = await postJson({ start_time: '0001-01-01T00:00:00Z', end_time: '+100000-01-01' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ 0: 0, 1: 2, 2: 1, 3: 0, 4: 0, 5: 0, 6: 1 });
  });

  it('takes a range narrower than a millisecond, which holds the readings of its start only when it starts on the millisecond', async () => {
    const within = await postJson({ start_time: '2024-01-31T12:00:00.0000001Z', end_time: '2024-01-31T12:00:00.0000002Z' });
    expect(within.status).toBe(200);
    expect(await within.json()).toEqual({ 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 });
    const onIt = await postJson({ start_time: '2024-01-31T12:00:00Z', end_time: '2024-01-31T12:00:00.0000002Z' });
    expect(await onIt.json()).toEqual({ 0: 0, 1: 1, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 });
    const before = await postJson({ start_time: '2024-01-31T11:59:59.9999999Z', end_time: '2024-01-31T12:00:00Z' });
    expect(await before.json()).toEqual({ 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 });
  });

  it('reads a time without offset as UTC, and +05:30 as the same instant as its UTC form', async () => {
    const utc = await (await postJson({ start_time: '2024-01-31T00:00:00', end_time: '2024-01-31T12:00:00' })).json();
    const offset = await (
      await postJson({ start_time: '2024-01-31T05:30:00+05:30', end_time: '2024-01-31T17:30:00+05:30' })
    ).json();
    expect(utc).toEqual({ 0: 0, 1: 1, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 });
    expect(offset).toEqual(utc);
  });

  it.each([
    ['a missing start_time', { end_time: '2024-01-01T00:00:00Z' }, /start_time is required/],
    ['a missing end_time', { start_time: '2024-01-01T00:00:00Z' }, /end_time is required/],
    ['start_time equal to end_time', { start_time: '2024-01-01', end_time: '2024-01-01T00:00:00Z' }, /start_time must be before end_time/],
    ['start_time after end_time', { start_time: '2024-01-02', end_time: '2024-01-01' }, /start_time must be before end_time/],
    ['an impossible date', { start_time: '2023-02-29', end_time: '2024-01-01' }, /start_time "2023-02-29" is not an ISO-8601 time that exists/],
    ['an impossible hour', { start_time: '2024-01-01T25:00:00Z', end_time: '2024-01-02' }, /is not an ISO-8601 time that exists/],
    ['a number', { start_time: 1706659200, end_time: '2024-01-02' }, /start_time must be an ISO-8601 time string .*not a number/],
    ['null', { start_time: null, end_time: '2024-01-02' }, /not null/],
    ['an array', { start_time: ['2024-01-01'], end_time: '2024-01-02' }, /not an array/],
    ['an operator object', { start_time: { $gt: '' }, end_time: '2024-01-02' }, /not an object/],
  ])('rejects %s with 400 naming the field', async (_, body, message) => {
    await expectError(await postJson(body), 400, 'invalid_request', message);
  });

  it('rejects a body that is not JSON, or not an object', async () => {
    await expectError(await post('{"start_time":'), 400, 'invalid_json');
    await expectError(await post('[]'), 400, 'invalid_request', /must be a JSON object/);
    await expectError(await post('"2024-01-01"'), 400, 'invalid_request', /must be a JSON object/);
  });

  it('rejects a wrong content type with 415 and a body over 16 KiB with 413', async () => {
    await expectError(await post('{}', 'text/plain'), 415, 'unsupported_media_type');
    // A parameter list the body validator cannot read: its own 415, answered in our shape.
    await expectError(await post('{}', 'application/json;'), 415, 'unsupported_media_type', /Content-Type: application\/json/);
    await expectError(await post(' '.repeat(MAX_BODY_BYTES + 1)), 413, 'payload_too_large');
    expect((await post('{}', 'application/json; charset=utf-8')).status).toBe(400);
  });
});

describe('GET /status-counts', () => {
  it('takes the range as query parameters', async () => {
    const response = await app.request('/status-counts?start_time=2024-01-31T12:00:00Z&end_time=2024-02-02');
    expect(await response.json()).toEqual({ 0: 0, 1: 1, 2: 1, 3: 0, 4: 0, 5: 0, 6: 1 });
  });

  it('rejects a repeated parameter', async () => {
    const response = await app.request('/status-counts?start_time=2024-01-01&start_time=2024-01-02&end_time=2024-01-03');
    await expectError(response, 400, 'invalid_request', /start_time is given more than once/);
  });

  it('rejects missing parameters', async () => {
    await expectError(await app.request('/status-counts'), 400, 'invalid_request', /start_time is required.*end_time is required/);
  });

  it.each(['/status-counts', '/status-counts/series'])('tells %s to encode the + of an offset, and says nothing of the order', async (path) => {
    const response = await app.request(`${path}?start_time=2024-01-31T00:00:00+05:30&end_time=2024-02-01&step=1h`);
    const message = /^start_time "2024-01-31T00:00:00 05:30" has a space .*encode \+ as %2B \(2024-01-31T00:00:00%2B05:30\)$/;
    await expectError(response, 400, 'invalid_request', message);
  });

  it('says nothing of the order of the times while one is not a time', async () => {
    const response = await app.request('/status-counts?start_time=2024-01-31&end_time=yesterday');
    await expectError(response, 400, 'invalid_request', /^end_time "yesterday" is not an ISO-8601 time that exists, e\.g\. [^;]*$/);
  });
});

describe('other routes and methods', () => {
  it('answers an unknown route with a JSON 404 and a wrong method with 405', async () => {
    await expectError(await app.request('/nope'), 404, 'not_found', /No route GET \/nope/);
    const response = await app.request('/status-counts', { method: 'DELETE' });
    await expectError(response, 405, 'method_not_allowed');
    expect(response.headers.get('allow')).toBe('GET, HEAD, POST');
  });

  it('serves health and the OpenAPI description', async () => {
    expect(await (await app.request('/healthz')).json()).toEqual({ status: 'ok' });
    expect(await (await app.request('/readyz')).json()).toEqual({ status: 'ready' });
    const spec = (await (await app.request('/openapi.json')).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { required?: string[] }> };
    };
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toEqual(['/status-counts', '/status-counts/series', '/devices', '/status-counts/top-devices', '/healthz', '/readyz']);
    expect(spec.components.schemas['StatusCountsRequest']?.required).toEqual(['start_time', 'end_time']);
    expect(spec.components.schemas['Series']?.required).toEqual(['start_time', 'end_time', 'step', 'tz', 'points']);
  });

  it('serves Swagger UI at /docs from its own files: no inline script or style, nothing from another origin', async () => {
    const withDocs = createApp({ store: memoryStore(), docs: buildDocsAssets() });
    const docs = await withDocs.request('/docs');
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await docs.text();
    expect(html).toContain('<script src="/docs/swagger-ui.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/docs/swagger-ui.css">');
    expect(html).not.toMatch(/<script>|<style|style=|https?:/);
    const script = await withDocs.request('/docs/swagger-ui.js');
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain('/openapi.json');
    expect((await withDocs.request('/docs/swagger-ui.css')).headers.get('content-type')).toMatch(/^text\/css/);
    const csp = docs.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src 'self'(;|$)/);
    expect(csp).not.toContain('unsafe');
  });

  it.each(['/nope', '/status-counts', '/healthz'])('sets a request id and secure headers on %s', async (path) => {
    const response = await app.request(path);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('logs one line per request', async () => {
    const lines: unknown[] = [];
    const logged = createApp({ store: memoryStore(), log: (entry) => lines.push(entry) });
    await logged.request('/healthz');
    expect(lines).toEqual([
      expect.objectContaining({ method: 'GET', path: '/healthz', status: 200, requestId: expect.any(String) }),
    ]);
  });
});

describe('API_TOKEN', () => {
  const secured = createApp({ store: memoryStore(readings), token: 's3cret-token' });
  const range = '/status-counts?start_time=2024-01-01&end_time=2024-03-01';

  it('requires the bearer token on every route but the health checks', async () => {
    await expectError(await secured.request(range), 401, 'unauthorized');
    await expectError(await secured.request(range, { headers: { authorization: 'Bearer wrong' } }), 401, 'unauthorized');
    await expectError(await secured.request('/openapi.json'), 401, 'unauthorized');
    const ok = await secured.request(range, { headers: { authorization: 'Bearer s3cret-token' } });
    expect(ok.status).toBe(200);
    expect((await secured.request('/healthz')).status).toBe(200);
    expect((await secured.request('/readyz')).status).toBe(200);
  });
});

describe('when MongoDB fails', () => {
  const range = '/status-counts?start_time=2024-01-01&end_time=2024-03-01';

  it('answers 503 when it is unavailable, and /readyz says so', async () => {
    const down = createApp({ store: memoryStore([], 'unavailable') });
    await expectError(await down.request(range), 503, 'unavailable');
    await expectError(await down.request('/readyz'), 503, 'unavailable');
  });

  it('answers 504 at the request bound when it is too slow', async () => {
    vi.useFakeTimers();
    try {
      const slow = createApp({ store: memoryStore([], 'slow'), requestTimeoutMs: 100 });
      let answered = false;
      const answer = Promise.resolve(slow.request(range)).finally(() => (answered = true));
      await vi.advanceTimersByTimeAsync(99);
      expect(answered).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(answered).toBe(true);
      await expectError(await answer, 504, 'timeout');
    } finally {
      vi.useRealTimers();
    }
  });

  it('answers an unexpected error with a 500 that reveals nothing', async () => {
    const errors: unknown[] = [];
    const broken = createApp({
      store: { ...memoryStore(), countByStatus: () => Promise.reject(new Error('secret detail')) },
      onError: (error) => errors.push(error),
    });
    const response = await broken.request(range);
    expect(await response.clone().text()).not.toContain('secret detail');
    await expectError(response, 500, 'internal');
    expect(errors).toHaveLength(1);
  });
});

describe('no input produces a 5xx', () => {
  it('for any JSON body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const response = await post(JSON.stringify(value));
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
  });

  it('for any object with time-like fields', async () => {
    const timeish = fc.oneof(fc.string(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.jsonValue());
    await fc.assert(
      fc.asyncProperty(fc.record({ start_time: timeish, end_time: timeish }, { requiredKeys: [] }), async (body) => {
        const response = await postJson(body);
        expect([200, 400]).toContain(response.status);
      }),
      { numRuns: 300 },
    );
  });

  it('for any query string', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), async (query) => {
        const response = await app.request(`/status-counts?${query}`);
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
  });
});

describe('GET /status-counts/series', () => {
  const series = (query: string, target = app) => target.request(`/status-counts/series?${query}`);

  it('answers each step of the range in its zone (UTC by default) and local time, the first and last clipped to it', async () => {
    const zero = { 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 };
    const expectSeries = async (query: string, answer: Record<string, string>, points: [string, Partial<typeof zero>][]) =>
      expect(await (await series(query)).json()).toEqual({ ...answer, points: points.map(([start, counts]) => ({ start, counts: { ...zero, ...counts } })) });
    await expectSeries(
      'start_time=2024-01-31T06:00:00Z&end_time=2024-02-01T00:00:00.001Z&step=6h',
      { start_time: '2024-01-31T06:00:00.000Z', end_time: '2024-02-01T00:00:00.001Z', step: '6h', tz: 'UTC' },
      [['2024-01-31T06:00:00.000Z', {}], ['2024-01-31T12:00:00.000Z', { 1: 1 }], ['2024-01-31T18:00:00.000Z', { 6: 1 }], ['2024-02-01T00:00:00.000Z', { 2: 1 }]],
    );
    await expectSeries(
      'start_time=2024-01-31T00:00:00%2B05:30&end_time=2024-02-02T00:00:00%2B05:30&step=1d&tz=Asia/Kolkata',
      { start_time: '2024-01-31T00:00:00.000+05:30', end_time: '2024-02-02T00:00:00.000+05:30', step: '1d', tz: 'Asia/Kolkata' },
      [['2024-01-31T00:00:00.000+05:30', { 1: 2 }], ['2024-02-01T00:00:00.000+05:30', { 2: 1, 6: 1 }]],
    );
    await expectError(await series('start_time=2024-01-31&end_time=2024-02-01&step=1d&tz=europe/berlin'), 400, 'invalid_request', /tz "europe\/berlin" is not a time zone this server knows: did you mean Europe\/Berlin\?/);
  });

  it('answers CSV for format=csv or Accept: text/csv, a row per point, a column per status and per device and status', async () => {
    const csv = 'start,end,0,1,2,3,4,5,6\r\n2024-01-31T00:00:00.000+05:30,2024-02-01T00:00:00.000+05:30,0,2,0,0,0,0,0\r\n2024-02-01T00:00:00.000+05:30,2024-02-01T12:00:00.000+05:30,0,0,1,0,0,0,1\r\n';
    const range = 'start_time=2024-01-31T00:00:00%2B05:30&end_time=2024-02-01T12:00:00%2B05:30&step=1d&tz=Asia/Kolkata';
    for (const response of [await series(`${range}&format=csv`), await app.request(`/status-counts/series?${range}`, { headers: { accept: 'text/csv' } })]) {
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(response.headers.get('content-disposition')).toBe('attachment; filename="tally-series-1d.csv"');
      expect(await response.text()).toBe(csv);
    }
    const json = await app.request(`/status-counts/series?${range}`, { headers: { accept: 'application/json, text/csv;q=0.5' } });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    const fleet = createApp({
      store: memoryStore([
        { status: 3, ts: new Date('2024-01-31T01:00:00Z'), device: 'pump-1' },
        { status: 3, ts: new Date('2024-01-31T02:00:00Z'), device: 'pump-2' },
        { status: 5, ts: new Date('2024-01-31T03:00:00Z'), device: 'pump-2' },
        { status: 0, ts: new Date('2024-01-31T04:00:00Z'), device: 'pump-3' },
      ]),
    });
    const perDevice = await fleet.request('/status-counts/series?start_time=2024-01-31&end_time=2024-01-31T06:00:00Z&step=6h&device=pump-1&device=pump-2&format=csv');
    expect((await perDevice.text()).split('\r\n')).toEqual([
      'start,end,0,1,2,3,4,5,6,pump-1/0,pump-1/1,pump-1/2,pump-1/3,pump-1/4,pump-1/5,pump-1/6,pump-2/0,pump-2/1,pump-2/2,pump-2/3,pump-2/4,pump-2/5,pump-2/6',
      '2024-01-31T00:00:00.000Z,2024-01-31T06:00:00.000Z,0,0,0,2,0,1,0,0,0,0,1,0,0,0,0,0,0,1,0,1,0',
      '',
    ]);
  });

  it('refuses a step it does not know, naming those it does', async () => {
    await expectError(await series('start_time=2024-01-31&end_time=2024-02-01&step=2h'), 400, 'invalid_request', /step must be one of 1m, 5m, 15m, 1h, 6h, 1d, 1w, 1mo/);
    await expectError(await series('start_time=2024-01-31&end_time=2024-02-01'), 400, 'invalid_request', /step must be one of/);
  });

  it('refuses more points than it answers, naming the limit', async () => {
    await expectError(
      await series('start_time=2024-01-01&end_time=2024-01-03&step=1m'),
      400,
      'too_many_points',
      /The range holds more than 1500 steps of 1m in UTC: use a larger step or a shorter range/,
    );
    expect((await series('start_time=2024-01-01&end_time=2024-01-02T01:00:00Z&step=1m')).status).toBe(200);
  });

  it('refuses a range that ends before it starts, and other methods', async () => {
    await expectError(await series('start_time=2024-02-01&end_time=2024-01-31&step=1h'), 400, 'invalid_request', /start_time must be before end_time/);
    const post = await app.request('/status-counts/series', { method: 'POST' });
    await expectError(post, 405, 'method_not_allowed');
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers 503 when the store is unavailable', async () => {
    const down = createApp({ store: memoryStore(readings, 'unavailable') });
    await expectError(await series('start_time=2024-01-31&end_time=2024-02-01&step=1h', down), 503, 'unavailable');
  });
});

describe('API_MAX_CONCURRENT_QUERIES', () => {
  /** A store whose counts wait until `release()`; `started` counts the calls that reached it. */
  function gatedStore() {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const inner = memoryStore(readings);
    let started = 0;
    const store: CountsStore = {
      ...inner,
      countByStatus: async (range, options) => {
        started++;
        await gate;
        return inner.countByStatus(range, options);
      },
      series: async (shape, options) => {
        started++;
        await gate;
        return inner.series(shape, options);
      },
    };
    return { store, release: () => open(), started: () => started };
  }
  const range = 'start_time=2024-01-31&end_time=2024-02-01';

  it('answers a count or series past the limit with 503 busy and Retry-After, and serves it again once a query ends', async () => {
    const { store, release, started } = gatedStore();
    const limited = createApp({ store, maxConcurrentQueries: 2 });
    const running = [limited.request(`/status-counts?${range}`), limited.request(`/status-counts/series?${range}&step=1h`)];
    await expect.poll(started).toBe(2);
    for (const path of [`/status-counts?${range}`, `/status-counts/series?${range}&step=1h`]) {
      const busy = await limited.request(path);
      expect(busy.headers.get('retry-after')).toBe('1');
      await expectError(busy, 503, 'busy', /running 2 queries already/);
    }
    const post = await postTo(limited, JSON.stringify({ start_time: '2024-01-31', end_time: '2024-02-01' }));
    await expectError(post, 503, 'busy');
    expect(started()).toBe(2);
    expect((await limited.request('/healthz')).status).toBe(200);
    await expectError(await limited.request('/status-counts?start_time=x&end_time=y'), 400, 'invalid_request');
    release();
    expect((await Promise.all(running)).map((response) => response.status)).toEqual([200, 200]);
    expect((await limited.request(`/status-counts?${range}`)).status).toBe(200);
  });

  it('is documented: every count and series operation may answer 503 busy with Retry-After', () => {
    const { paths } = openApi();
    const operations = [
      paths['/status-counts']?.['get'],
      paths['/status-counts']?.['post'],
      paths['/status-counts/series']?.['get'],
      paths['/devices']?.['get'],
      paths['/status-counts/top-devices']?.['get'],
    ];
    expect(operations.every((operation) => operation !== undefined)).toBe(true);
    for (const operation of operations) {
      expect(operation?.responses['503']?.description).toMatch(/busy/);
      expect(operation?.responses['503']?.headers['Retry-After']?.schema).toEqual({ type: 'integer', minimum: 0 });
    }
  });

  it('keeps a query that ran out of time in its slot until the store lets go of it', async () => {
    const { store, release, started } = gatedStore();
    const limited = createApp({ store, maxConcurrentQueries: 1, requestTimeoutMs: 50 });
    await expectError(await limited.request(`/status-counts?${range}`), 504, 'timeout');
    await expectError(await limited.request(`/status-counts?${range}`), 503, 'busy');
    expect(started()).toBe(1);
    release();
    await expect.poll(async () => (await limited.request(`/status-counts?${range}`)).status).toBe(200);
  });
});

describe('methods', () => {
  const paths = Object.entries(openApi().paths);

  it.each(paths)('%s answers every method it does not serve with a JSON 405 and an Allow header', async (path, operations) => {
    const allowed = Object.keys(operations).map((method) => method.toUpperCase());
    // TRACE: fetch refuses to send it; main.integration.spec.ts sends it raw.
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].filter((m) => !allowed.includes(m))) {
      const response = await app.request(path, { method });
      await expectError(response, 405, 'method_not_allowed');
      expect(response.headers.get('allow')?.split(', ').sort()).toEqual([...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])].sort());
    }
  });

  it('names every method some path serves as the Allow of a CONNECT (answered by the server, outside any path)', () => {
    const documented = new Set(paths.flatMap(([, operations]) => Object.keys(operations).map((method) => method.toUpperCase())));
    if (documented.has('GET')) documented.add('HEAD');
    expect(servedMethods(app).split(', ').sort()).toEqual([...documented].sort());
  });
});

describe('the OpenAPI description', () => {
  it('gives the time fields the pattern that parseInstant reads, so that "" is not valid by the schema', () => {
    const doc = openApi();
    const body = doc.components.schemas['StatusCountsRequest'];
    const query = doc.paths['/status-counts']?.['get']?.parameters ?? [];
    expect(query.map((parameter) => parameter.name)).toEqual(['start_time', 'end_time', 'device']);
    const times = query.filter((parameter) => parameter.name.endsWith('_time'));
    for (const pattern of [body?.properties['start_time']?.pattern, body?.properties['end_time']?.pattern, ...times.map((p) => p.schema.pattern)]) {
      expect(pattern).toBe(TIME_PATTERN);
    }
    expect(new RegExp(TIME_PATTERN).test('')).toBe(false);
  });
});
