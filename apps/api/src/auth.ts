import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors';

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
      throw new ApiError(401, 'unauthorized', 'Send the API token as "Authorization: Bearer <token>"');
    }
    return next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
