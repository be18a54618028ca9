import type { Context } from 'hono';
import { ApiError } from '../errors';

/** Answers a method the path does not serve: 405 with the methods it does in `Allow`. */
export function methodNotAllowed(allow: string) {
  return (c: Context) => {
    c.header('Allow', allow);
    throw new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed here: use ${allow.replace(/, (?=[^,]+$)/, ' or ')}`);
  };
}
