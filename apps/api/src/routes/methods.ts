import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ApiError } from '../errors';

/** Answers a method the path does not serve: 405 with the methods it does in `Allow`. */
export function methodNotAllowed(allow: string) {
  return (c: Context) => {
    c.header('Allow', allow);
    throw new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed here: use ${allow.replace(/, (?=[^,]+$)/, ' or ')}`);
  };
}

/**
 * Answers every other method on each path `app` serves with a 405 naming the methods it does (from
 * the routes registered so far: call it after the last route). HEAD goes with GET.
 */
export function refuseOtherMethods(app: OpenAPIHono): void {
  const served = new Map<string, Set<string>>();
  for (const { method, path } of app.routes) {
    if (method === 'ALL') continue; // middleware
    served.set(path, (served.get(path) ?? new Set()).add(method));
  }
  for (const [path, methods] of served) {
    if (methods.has('GET')) methods.add('HEAD');
    const allow = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].filter((method) => methods.has(method));
    app.all(path, methodNotAllowed(allow.join(', ')));
  }
}
