import { sleep } from '@tally/runtime';
import type { Hono } from 'hono';
import { ApiError } from '../errors';
import type { CountsStore } from '../store';
import { methodNotAllowed } from './methods';

/** The probes: `/healthz` (the process answers) and `/readyz` (MongoDB answers a ping within 2 s). */
export function healthRoutes(app: Hono, { store, requestTimeoutMs }: { store: CountsStore; requestTimeoutMs: number }): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const ready = await Promise.race([store.ping(), sleep(Math.min(requestTimeoutMs, 2000)).then(() => false)]);
    if (!ready) throw new ApiError(503, 'unavailable', 'MongoDB does not answer');
    return c.json({ status: 'ready' });
  });
  for (const path of ['/healthz', '/readyz']) app.all(path, methodNotAllowed('GET, HEAD'));
}
