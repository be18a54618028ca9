import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp, type AppOptions } from './app';
import { LiveHub } from './live/hub';
import { storeReads } from './live/routes';
import { openApiDocument } from './openapi';
import { MAX_BODY_BYTES } from './routes/json-body';
import { memoryStore } from './test/memory-store';

/*
 * The OpenAPI document against the app that serves it: every operation it lists answers a request
 * built from the document's own examples and enums, and every answer below (each error provoked
 * on purpose) has a documented status, body and headers; conversely every status and error code the
 * document lists for an operation is one the app was seen to answer. The fuzz test
 * (openapi.fuzz.integration.spec.ts, Schemathesis) does the generative half against the running app.
 */

type JsonSchema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema: { examples?: (string | string[])[]; enum?: string[] };
}
interface Operation {
  parameters?: Parameter[];
  security?: unknown[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { content?: Record<string, { schema: JsonSchema }>; headers?: Record<string, { schema: JsonSchema }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
}

const TOKEN = 'conformance-token';
/** An app with live streams (no announcements: its hub polls), at most `maxStreams` of them. */
const withLive = (options: AppOptions, maxStreams = 100) =>
  createApp({ ...options, live: { hub: new LiveHub({ read: storeReads({ store: options.store, requestTimeoutMs: 5000 }) }), maxStreams } });
const apps = {
  plain: withLive({ store: memoryStore([{ status: 2, ts: new Date('2024-01-31T06:00:00Z') }]) }),
  secured: withLive({ store: memoryStore(), token: TOKEN }),
  down: withLive({ store: memoryStore([], 'unavailable') }),
  busy: withLive({ store: memoryStore(), maxConcurrentQueries: 0 }),
  slow: withLive({ store: memoryStore([], 'slow'), requestTimeoutMs: 20 }),
  streamsFull: withLive({ store: memoryStore() }, 0),
  expired: withLive({ store: memoryStore([], 'raw_expired') }),
  catchingUp: withLive({ store: memoryStore([], 'catching_up') }),
} satisfies Record<string, ReturnType<typeof createApp>>;
const doc = openApiDocument(apps.plain) as unknown as Document;

/** A schema with every `$ref` replaced by the component it names. */
function resolve(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(resolve);
  if (typeof schema !== 'object' || schema === null) return schema;
  const { $ref, ...rest } = schema as { $ref?: string };
  if ($ref) return resolve(doc.components.schemas[$ref.replace('#/components/schemas/', '')]);
  return Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, resolve(value)]));
}
const validator = (schema: JsonSchema) => z.fromJSONSchema(resolve(schema) as Parameters<typeof z.fromJSONSchema>[0]);

/** The request an operation's examples make: each parameter's first example, the body's properties' too. */
function exampleRequest(path: string, method: string, operation: Operation, change: Record<string, string | undefined> = {}) {
  const values: Record<string, string | string[] | undefined> = {};
  for (const parameter of operation.parameters ?? []) values[parameter.name] = parameter.schema.examples?.[0];
  const bodySchema = resolve(operation.requestBody?.content['application/json']?.schema) as
    | { properties: Record<string, { examples?: string[] }> }
    | undefined;
  for (const [name, property] of Object.entries(bodySchema?.properties ?? {})) values[name] = property.examples?.[0];
  Object.assign(values, change);
  const given = Object.entries(values).filter((entry): entry is [string, string | string[]] => entry[1] !== undefined);
  if (bodySchema) {
    return { url: path, init: { method: method.toUpperCase(), headers: { 'content-type': 'application/json' }, body: JSON.stringify(Object.fromEntries(given)) } };
  }
  // A list is a repeated parameter (style form, explode): device=a&device=b.
  const query = new URLSearchParams(given.flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((item): [string, string] => [name, item])));
  return { url: `${path}?${query}`, init: { method: method.toUpperCase() } };
}

const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, operation })),
);

/** What each operation was seen to answer: "200", or "<status> <code>" for an error. */
const seen = new Map<string, Set<string>>();

/** Checks one answer against the operation's document, and records it. */
async function expectDocumented(key: string, operation: Operation, response: Response): Promise<void> {
  const documented = operation.responses[String(response.status)];
  expect(documented, `${key} answered ${response.status}, which its document does not list`).toBeDefined();
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    // A stream never ends: its first event is what can be checked.
    expect(Object.keys(documented?.content ?? {})).toEqual(['text/event-stream']);
    expect(await firstEvent(response)).toMatch(/^retry: [0-9]+\n\nid: \S+\nevent: series\ndata: \{/);
    seen.set(key, (seen.get(key) ?? new Set()).add(String(response.status)));
    return;
  }
  if (response.headers.get('content-type')?.startsWith('text/csv')) {
    expect(documented?.content?.['text/csv'], `${key} ${response.status} answered CSV`).toBeDefined();
    seen.set(key, (seen.get(key) ?? new Set()).add(String(response.status)));
    return;
  }
  const schema = documented?.content?.['application/json']?.schema;
  const body: unknown = await response.json();
  if (schema) {
    const result = validator(schema).safeParse(body);
    expect(result.success, `${key} ${response.status}: ${JSON.stringify(body)} does not match the document (${result.error?.message})`).toBe(true);
  }
  for (const header of ['retry-after', 'www-authenticate']) {
    if (response.headers.has(header)) {
      const names = Object.keys(documented?.headers ?? {}).map((name) => name.toLowerCase());
      expect(names, `${key} ${response.status} sent ${header}`).toContain(header);
    }
  }
  const code = (body as { error?: { code?: string } }).error?.code;
  seen.set(key, (seen.get(key) ?? new Set()).add(code ? `${response.status} ${code}` : String(response.status)));
}

/** The text of a stream up to its first event, which is then closed. */
async function firstEvent(response: Response): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (!/event: [\s\S]*?\n\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  return text;
}

/** The operations bounded by API_MAX_CONCURRENT_QUERIES and API_REQUEST_TIMEOUT_MS (not the probes). */
const QUERIES_THE_STORE = /^\/(?:status-counts|devices)(?:\/|$)/;
/** The operations that count over a range, which raw readings may have expired from. */
const COUNTS_A_RANGE = /^\/status-counts(?:\/|$)/;

describe.each(operations)('$key as documented', ({ key, path, method, operation }) => {
  const send = (target: keyof typeof apps, change?: Record<string, string | undefined>, init: RequestInit = {}) => {
    const request = exampleRequest(path, method, operation, change);
    return apps[target].request(request.url, { ...request.init, ...init });
  };
  const check = async (response: Response | Promise<Response>) => expectDocumented(key, operation, await response);

  it('answers 200 to its examples, and to every value of each enum', async () => {
    const response = await send('plain');
    expect(response.status).toBe(200);
    await check(response);
    for (const parameter of operation.parameters ?? []) {
      for (const value of parameter.schema.enum ?? []) {
        const answer = await send('plain', { [parameter.name]: value });
        expect(answer.status, `${parameter.name}=${value}`).toBe(200);
        await answer.body?.cancel();
      }
    }
  });

  it('answers 400 without each required parameter, or with a value no schema allows', async () => {
    // Query parameters (a header such as Last-Event-ID takes any value).
    for (const parameter of (operation.parameters ?? []).filter((parameter) => parameter.in === 'query')) {
      if (parameter.required) {
        const missing = await send('plain', { [parameter.name]: undefined });
        expect(missing.status, `without ${parameter.name}`).toBe(400);
        await check(missing);
      }
      const invalid = await send('plain', { [parameter.name]: 'no such value' });
      expect(invalid.status, `${parameter.name}=no such value`).toBe(400);
      await check(invalid);
    }
    if (operation.requestBody) await check(send('plain', { start_time: undefined }));
  });

  // Registered only where they apply: no test is skipped.
  if (operation.security?.length !== 0) it('needs the token: 401 without it, 200 with it', async () => {
    const refused = await send('secured');
    expect(refused.status).toBe(401);
    await check(refused);
    const allowed = await send('secured', {}, { headers: { ...exampleRequest(path, method, operation).init.headers, authorization: `Bearer ${TOKEN}` } });
    expect(allowed.status).toBe(200);
    await allowed.body?.cancel();
  });

  else it('needs no token', async () => {
    expect((await send('secured')).status).toBe(200);
  });

  it('answers as documented when MongoDB is down, slow, or the API is busy', async () => {
    await check(send('down'));
    if (!QUERIES_THE_STORE.test(path)) return;
    await check(send('busy'));
    await check(send('slow'));
  });

  if (COUNTS_A_RANGE.test(path)) it('answers as documented when the range needs raw readings that expired, or a late one is being folded in', async () => {
    const expired = await send('expired');
    expect([expired.status, await expired.clone().json()]).toEqual([400, { error: { code: 'raw_expired', message: 'Raw readings before 2024-01-01T00:00:00.000Z have expired' } }]);
    await check(expired);
    const catchingUp = await send('catchingUp');
    expect([catchingUp.status, catchingUp.headers.get('retry-after')]).toEqual([503, '1']);
    await check(catchingUp);
  });

  if (operation.requestBody) it('answers as documented to a body it cannot read', async () => {
    const post = (body: string, type = 'application/json') => apps.plain.request(path, { method: 'POST', headers: { 'content-type': type }, body });
    await check(post('{"start_time":'));
    await check(post('[]'));
    await check(post('{}', 'text/plain'));
    await check(post(' '.repeat(MAX_BODY_BYTES + 1)));
  });

  if (path === '/status-counts/series' || path === '/status-counts/stream') it('answers as documented to a range of too many points', async () => {
    await check(send('plain', { start_time: '2024-01-01', end_time: '2024-03-01', step: '1m' }));
  });
  if (path === '/status-counts/series' || path === '/status-counts/stream') it('answers as documented to an unknown time zone', async () => {
    const unknown = await send('plain', { tz: 'Mars/Olympus_Mons' });
    expect(await unknown.clone().json()).toMatchObject({ error: { code: 'invalid_request', message: expect.stringContaining('tz "Mars/Olympus_Mons" is not a time zone') } });
    await check(unknown);
  });
  if (path === '/status-counts/series') it('answers as documented as CSV', async () => {
    await check(send('plain', { format: 'csv' }));
    await check(send('plain', { format: undefined }, { headers: { accept: 'text/csv' } }));
  });

  if (path === '/status-counts/stream') it('answers as documented past API_MAX_STREAMS', async () => {
    const refused = await send('streamsFull');
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([503, '5']);
    await check(refused);
  });
});

describe('the document', () => {
  // After the operations' tests above (a file's tests run in order), which recorded what was answered.
  it('lists only the statuses and error codes the app was seen to answer above', () => {
    for (const { key, operation } of operations) {
      const documented = Object.entries(operation.responses).flatMap(([status, response]) => {
        const schema = resolve(response.content?.['application/json']?.schema) as
          | { properties?: { error?: { properties: { code: { enum: string[] } } } } }
          | undefined;
        const codes = schema?.properties?.error?.properties.code.enum;
        return codes ? codes.map((code) => `${status} ${code}`) : [status];
      });
      expect([...(seen.get(key) ?? [])].sort(), key).toEqual(documented.sort());
    }
  });

  it('is what /openapi.json serves', async () => {
    expect(await (await apps.plain.request('/openapi.json')).json()).toEqual(doc);
  });
});
