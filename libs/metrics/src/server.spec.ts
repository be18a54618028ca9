import { afterEach, describe, expect, it } from 'vitest';
import { Counter, createMetricsRegistry, startMetricsServer, type MetricsServer } from './index';

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('startMetricsServer', () => {
  it('serves the registry as Prometheus text, with the process metrics, and only at /metrics', async () => {
    const registry = createMetricsRegistry();
    const counter = new Counter({ name: 'tally_test_things_total', help: 'Things', registers: [registry] });
    server = await startMetricsServer({ registry, port: 0 });
    counter.inc(3);
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^tally_test_things_total 3$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);

    const other = await fetch(`http://127.0.0.1:${server.port}/status-counts`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: { code: 'not_found' } });
    const post = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-type'), await head.text()]).toEqual([200, registry.contentType, '']);
  });
});
