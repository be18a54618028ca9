import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { apiError, type ErrorKind } from './errors';

export const UNAUTHORIZED: ErrorKind = {
  status: 401,
  code: 'unauthorized',
  description: 'API_TOKEN is set and the request has no valid bearer token',
  headers: { 'WWW-Authenticate': { description: 'Bearer', schema: { type: 'string' } } },
};

/**
 * Requires `Authorization: Bearer <token>` on every path but `publicPaths`: 401 with
 * `WWW-Authenticate: Bearer` otherwise. Compared in constant time (as digests, so that the
 * length of the token does not show either).
 */
export function bearerAuth(token: string, publicPaths: ReadonlySet<string>): MiddlewareHandler {
  const expected = digest(token);
  return async (c, next) => {
    if (publicPaths.has(c.req.path)) return next();
    const given = /^Bearer (.+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      c.header('WWW-Authenticate', 'Bearer');
      throw apiError(UNAUTHORIZED, 'Send the API token as "Authorization: Bearer <token>"');
    }
    return next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
