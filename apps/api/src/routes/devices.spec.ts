import { describe, expect, it } from 'vitest';
import { createApp } from '../app';
import { encodeCursor } from '../device-params';
import { memoryStore, type Reading } from '../test/memory-store';

const at = (minute: number) => new Date(Date.parse('2026-03-01T00:00:00Z') + minute * 60_000);
const readings: Reading[] = [
  { status: 5, ts: at(1), device: 'pump-1' },
  { status: 5, ts: at(2), device: 'pump-1' },
  { status: 2, ts: at(3), device: 'pump-1' },
  { status: 5, ts: at(4), device: 'pump-2' },
  { status: 1, ts: at(5), device: 'valve-1' },
  { status: 5, ts: at(6), device: 'valve-1' },
  { status: 5, ts: at(7), device: 'valve-1' },
  { status: 0, ts: at(8) },
];
const app = createApp({ store: memoryStore(readings) });
const range = `start_time=${at(0).toISOString()}&end_time=${at(60).toISOString()}`;
const zero = { 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 };

const json = async (path: string, init?: RequestInit) => {
  const response = await app.request(path, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
};
const post = (body: unknown) => json('/status-counts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('device on /status-counts and /status-counts/series', () => {
  it('counts the devices named, together, each once; absent is the whole fleet', async () => {
    expect(await json(`/status-counts?${range}`)).toEqual({ status: 200, body: { ...zero, 0: 1, 1: 1, 2: 1, 5: 5 } });
    expect(await json(`/status-counts?${range}&device=pump-1`)).toEqual({ status: 200, body: { ...zero, 2: 1, 5: 2 } });
    expect(await json(`/status-counts?${range}&device=pump-1&device=valve-1&device=pump-1`)).toEqual({
      status: 200,
      body: { ...zero, 1: 1, 2: 1, 5: 4 },
    });
    expect(await json(`/status-counts?${range}&device=nobody`)).toEqual({ status: 200, body: zero });
  });

  it('takes "device" as a string or a list in the POST body', async () => {
    const times = { start_time: at(0).toISOString(), end_time: at(60).toISOString() };
    expect(await post({ ...times, device: 'pump-2' })).toEqual({ status: 200, body: { ...zero, 5: 1 } });
    expect(await post({ ...times, device: ['pump-2', 'valve-1'] })).toEqual({ status: 200, body: { ...zero, 1: 1, 5: 3 } });
  });

  it('answers a series of the devices named', async () => {
    const { status, body } = await json(`/status-counts/series?${range}&step=1h&device=valve-1&device=pump-2`);
    expect(status).toBe(200);
    expect(body['points']).toEqual([{ start: at(0).toISOString(), counts: { ...zero, 1: 1, 5: 3 } }]);
  });

  it.each([
    [`/status-counts?${range}&device=pump%2017`, /device 1 of the list is not a device id: expected 1 to 128 characters of A-Z a-z 0-9 \. _ : -, got "pump 17"/],
    [`/status-counts?${range}&device=`, /got an empty id/],
    [`/status-counts?${range}&${Array.from({ length: 101 }, (_, i) => `device=d${i}`).join('&')}`, /device names 101 devices; at most 100 devices per request/],
    [`/status-counts/series?${range}&step=1h&device=a&device=b%2Fc`, /device 2 of the list is not a device id: .*got "b\/c"/],
  ])('refuses %s with a 400 naming the rule', async (path, message) => {
    const { status, body } = await json(path);
    expect(status).toBe(400);
    expect(body.error?.code).toBe('invalid_request');
    expect(body.error?.message).toMatch(message);
  });

  it('refuses a bad device in the POST body, and still one start_time', async () => {
    const times = { start_time: at(0).toISOString(), end_time: at(60).toISOString() };
    expect((await post({ ...times, device: [] })).body.error?.message).toMatch(/at least one device; leave device out/);
    expect((await post({ ...times, device: 7 })).body.error?.message).toMatch(/device must be a device id or a list of at most 100/);
    expect((await json(`/status-counts?${range}&start_time=2026-03-01`)).body.error?.message).toBe('start_time is given more than once');
  });
});

describe('GET /devices', () => {
  it('lists every device once, sorted, with its first and last reading, a page at a time', async () => {
    const first = await json('/devices?limit=2');
    expect(first).toEqual({
      status: 200,
      body: {
        devices: [
          { device: 'pump-1', first_seen: at(1).toISOString(), last_seen: at(3).toISOString(), last_status: 2, readings: 3 },
          { device: 'pump-2', first_seen: at(4).toISOString(), last_seen: at(4).toISOString(), last_status: 5, readings: 1 },
        ],
        next_cursor: encodeCursor('pump-2'),
      },
    });
    const second = await json(`/devices?limit=2&cursor=${first.body['next_cursor'] as string}`);
    expect(second.body).toEqual({
      devices: [{ device: 'valve-1', first_seen: at(5).toISOString(), last_seen: at(7).toISOString(), last_status: 5, readings: 3 }],
    });
  });

  it('filters by prefix', async () => {
    const { body } = await json('/devices?prefix=pump-');
    expect((body['devices'] as { device: string }[]).map(({ device }) => device)).toEqual(['pump-1', 'pump-2']);
    expect((await json('/devices?prefix=zzz')).body).toEqual({ devices: [] });
  });

  it.each([
    ['/devices?limit=0', /limit must be a whole number from 1 to 1000, not "0"/],
    ['/devices?limit=5000', /limit must be a whole number from 1 to 1000/],
    ['/devices?prefix=a%20b', /prefix must be the start of a device id/],
    ['/devices?cursor=%2A%2A', /cursor is not one this API gave out/],
    ['/devices?limit=1&limit=2', /limit is given more than once/],
  ])('refuses %s with a 400 naming the rule', async (path, message) => {
    const { status, body } = await json(path);
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(message);
  });
});

describe('GET /status-counts/top-devices', () => {
  it('lists the devices most often in the status, most first, ties by id, none with zero', async () => {
    expect(await json(`/status-counts/top-devices?${range}&status=5`)).toEqual({
      status: 200,
      body: {
        status: 5,
        devices: [
          { device: 'pump-1', count: 2, counts: { ...zero, 2: 1, 5: 2 } },
          { device: 'valve-1', count: 2, counts: { ...zero, 1: 1, 5: 2 } },
          { device: 'pump-2', count: 1, counts: { ...zero, 5: 1 } },
        ],
      },
    });
    const one = await json(`/status-counts/top-devices?${range}&status=5&limit=1`);
    expect((one.body['devices'] as unknown[]).length).toBe(1);
    expect((await json(`/status-counts/top-devices?${range}&status=3`)).body).toEqual({ status: 3, devices: [] });
  });

  it.each([
    [`/status-counts/top-devices?${range}`, /status is required: one of 0, 1, 2, 3, 4, 5, 6/],
    [`/status-counts/top-devices?${range}&status=7`, /status is required: one of 0, 1, 2, 3, 4, 5, 6/],
    [`/status-counts/top-devices?${range}&status=1&limit=101`, /limit must be a whole number from 1 to 100/],
    [`/status-counts/top-devices?start_time=2026-03-02&end_time=2026-03-01&status=1`, /start_time must be before end_time/],
    ['/status-counts/top-devices?status=1', /start_time is required/],
  ])('refuses %s with a 400 naming the rule', async (path, message) => {
    const { status, body } = await json(path);
    expect(status).toBe(400);
    expect(body.error?.message).toMatch(message);
  });
});

describe('the device routes and the shared machinery', () => {
  it('need the token when API_TOKEN is set', async () => {
    const secured = createApp({ store: memoryStore(readings), token: 'tok' });
    for (const path of ['/devices', `/status-counts/top-devices?${range}&status=5`]) {
      expect((await secured.request(path)).status).toBe(401);
      expect((await secured.request(path, { headers: { authorization: 'Bearer tok' } })).status).toBe(200);
    }
  });

  it('answer 503 busy with Retry-After past API_MAX_CONCURRENT_QUERIES', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const inner = memoryStore(readings);
    const limited = createApp({
      store: { ...inner, listDevices: async (options) => (await gate, inner.listDevices(options)) },
      maxConcurrentQueries: 1,
    });
    const running = limited.request('/devices');
    for (const path of ['/devices', `/status-counts/top-devices?${range}&status=5`]) {
      const busy = await limited.request(path);
      expect(busy.status).toBe(503);
      expect(busy.headers.get('retry-after')).toBe('1');
      expect(((await busy.json()) as { error: { code: string } }).error.code).toBe('busy');
    }
    open();
    expect((await running).status).toBe(200);
  });

  it('answer 503 when MongoDB is unavailable and 504 when it is too slow, without details', async () => {
    const down = createApp({ store: memoryStore(readings, 'unavailable') });
    const slow = createApp({ store: memoryStore(readings, 'slow'), requestTimeoutMs: 50 });
    for (const path of ['/devices', `/status-counts/top-devices?${range}&status=5`]) {
      expect(await (await down.request(path)).json()).toEqual({ error: { code: 'unavailable', message: 'MongoDB is unavailable; try again later' } });
      expect((await slow.request(path)).status).toBe(504);
    }
  });
});
