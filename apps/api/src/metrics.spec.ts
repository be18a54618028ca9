import { describe, expect, it } from 'vitest';
import { createApp } from './app';
import type { CountsStore } from './store';
import { createApiMetrics } from './metrics';

const zero = { 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 };

/** A store that answers zeros, or fails as an unreachable database would while `down`. */
function switchableStore() {
  const state = { down: false };
  const failWhenDown = () => {
    if (state.down) throw Object.assign(new Error('connect ECONNREFUSED'), { kind: 'unavailable' });
  };
  const store: CountsStore = {
    countByStatus: async () => {
      failWhenDown();
      return zero;
    },
    series: async () => [],
    listDevices: async () => {
      failWhenDown();
      return { devices: [] };
    },
    topDevices: async () => {
      failWhenDown();
      return [];
    },
    ping: async () => !state.down,
    classifyError: (error) => ((error as { kind?: string }).kind === 'unavailable' ? 'unavailable' : 'other'),
  };
  return { store, state };
}

/** The sum of the samples of `name` whose labels include `labels`, from the Prometheus text. */
async function valueOf(metrics: ReturnType<typeof createApiMetrics>, name: string, labels: Record<string, string>): Promise<number> {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  return (await metrics.registry.metrics())
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && wanted.every((label) => line.includes(label)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('the API metrics', () => {
  const { store, state } = switchableStore();
  const metrics = createApiMetrics();
  const app = createApp({ store: metrics.instrument(store), metrics, token: 'secret' });
  const get = (path: string, token = 'secret') => app.request(path, { headers: { authorization: `Bearer ${token}` } });

  it('counts requests by method, matched route and status, and times them', async () => {
    const ok = { method: 'GET', route: '/status-counts', status: '200' };
    await get('/status-counts?start_time=2026-01-01&end_time=2026-01-02');
    await get('/status-counts?start_time=2026-01-01&end_time=2026-01-02');
    await get('/status-counts?start_time=2026-01-02&end_time=2026-01-01');
    await get('/status-counts', 'wrong');
    await get('/nothing/here/123');
    expect(await valueOf(metrics, 'tally_api_requests_total', ok)).toBe(2);
    expect(await valueOf(metrics, 'tally_api_requests_total', { ...ok, status: '400' })).toBe(1);
    expect(await valueOf(metrics, 'tally_api_requests_total', { ...ok, status: '401' })).toBe(1);
    expect(await valueOf(metrics, 'tally_api_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(await valueOf(metrics, 'tally_api_request_duration_seconds_count', { method: 'GET', route: '/status-counts' })).toBe(4);
  });

  it('counts the store errors by kind, beside the 503 they are answered with', async () => {
    expect(await valueOf(metrics, 'tally_api_store_errors_total', { kind: 'unavailable' })).toBe(0);
    state.down = true;
    expect((await get('/status-counts?start_time=2026-01-01&end_time=2026-01-02')).status).toBe(503);
    state.down = false;
    expect(await valueOf(metrics, 'tally_api_store_errors_total', { kind: 'unavailable' })).toBe(1);
    expect(await valueOf(metrics, 'tally_api_requests_total', { route: '/status-counts', status: '503' })).toBe(1);
  });

  it('labels the device routes by their pattern, and counts their store errors too', async () => {
    const top = '/status-counts/top-devices?start_time=2026-01-01&end_time=2026-01-02&status=5';
    expect((await get('/devices?prefix=pump-')).status).toBe(200);
    expect((await get(top)).status).toBe(200);
    state.down = true;
    expect((await get('/devices')).status).toBe(503);
    expect((await get(top)).status).toBe(503);
    state.down = false;
    expect(await valueOf(metrics, 'tally_api_requests_total', { route: '/devices', status: '200' })).toBe(1);
    expect(await valueOf(metrics, 'tally_api_requests_total', { route: '/status-counts/top-devices', status: '503' })).toBe(1);
    expect(await valueOf(metrics, 'tally_api_store_errors_total', { kind: 'unavailable' })).toBe(3);
  });

  it('is not served on the API itself', async () => {
    expect((await get('/metrics')).status).toBe(404);
  });
});
