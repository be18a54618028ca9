import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import { sleep } from '@tally/runtime';
import { apiError, type ErrorKind } from '../errors';
import { errorResponses, jsonContent } from '../openapi';
import type { CountsStore } from '../store';

/** Longest `/readyz` waits for MongoDB's answer to a ping (or the request bound, when shorter). */
const READY_TIMEOUT_MS = 2000;

export const NOT_READY: ErrorKind = {
  status: 503,
  code: 'unavailable',
  description: `MongoDB does not answer a ping within ${READY_TIMEOUT_MS} ms`,
};

export const healthz = createRoute({
  operationId: 'healthz',
  method: 'get',
  path: '/healthz',
  summary: 'The process is alive',
  security: [],
  responses: { 200: { description: 'Alive', content: jsonContent(z.object({ status: z.literal('ok') })) } },
});

export const readyz = createRoute({
  operationId: 'readyz',
  method: 'get',
  path: '/readyz',
  summary: 'MongoDB answers',
  security: [],
  responses: {
    200: { description: 'Ready', content: jsonContent(z.object({ status: z.literal('ready') })) },
    ...errorResponses(NOT_READY),
  },
});

/** The paths that need no token: the probes, whose operations say so with `security: []`. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set([healthz.path, readyz.path]);

/** The probes: `/healthz` (the process answers) and `/readyz` (MongoDB answers a ping in time). */
export function healthRoutes(app: OpenAPIHono, { store, requestTimeoutMs }: { store: CountsStore; requestTimeoutMs: number }): void {
  app.openapi(healthz, (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(readyz, async (c) => {
    const ready = await Promise.race([store.ping(), sleep(Math.min(requestTimeoutMs, READY_TIMEOUT_MS)).then(() => false)]);
    if (!ready) throw apiError(NOT_READY, 'MongoDB does not answer');
    return c.json({ status: 'ready' as const }, 200);
  });
}
