import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { every } from 'hono/combine';
import { apiError, type ErrorKind } from '../errors';

/** The largest body a POST takes. */
export const MAX_BODY_BYTES = 16 * 1024;

export const PAYLOAD_TOO_LARGE: ErrorKind = { status: 413, code: 'payload_too_large', description: `The body is over ${MAX_BODY_BYTES} bytes` };
export const UNSUPPORTED_MEDIA_TYPE: ErrorKind = {
  status: 415,
  code: 'unsupported_media_type',
  description: 'The body is not sent as application/json',
};
export const INVALID_JSON: ErrorKind = { status: 400, code: 'invalid_json', description: 'The body is not valid JSON' };
export const NOT_AN_OBJECT: ErrorKind = { status: 400, code: 'invalid_request', description: 'The body is not a JSON object' };

/** Every error `jsonObjectBody` answers, for the document of the operations it guards. */
export const JSON_BODY_ERRORS = [PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, INVALID_JSON, NOT_AN_OBJECT];

/**
 * Lets through a JSON object of at most `MAX_BODY_BYTES`, for the body validator after it: 413 for
 * more, 415 for another content type, 400 for what is not JSON or not an object. `fields` names
 * what the object should hold, for the message.
 */
export function jsonObjectBody(fields: string): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw apiError(PAYLOAD_TOO_LARGE, `The body must be at most ${MAX_BODY_BYTES} bytes`);
    },
  });
  const object: MiddlewareHandler = async (c, next) => {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      throw apiError(UNSUPPORTED_MEDIA_TYPE, 'Send a JSON body with "Content-Type: application/json"');
    }
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      throw apiError(INVALID_JSON, 'The body is not valid JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw apiError(NOT_AN_OBJECT, `The body must be a JSON object with ${fields}`);
    }
    await next();
  };
  return every(limit, object);
}
