import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorCode =
  | 'invalid_request'
  | 'too_many_points'
  | 'raw_expired'
  | 'catching_up'
  | 'invalid_json'
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unavailable'
  | 'busy'
  | 'too_many_streams'
  | 'timeout'
  | 'internal';

/** An error answered as `{"error": {"code", "message"}}` with `status`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number | undefined },
  ) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  /** Sent as `Retry-After`, for an error after which the client may ask again. */
  readonly retryAfterSeconds: number | undefined;

  toJSON() {
    return { error: { code: this.code, message: this.message } };
  }
}

/**
 * A kind of error an operation answers, defined beside the code that throws it: the OpenAPI
 * document lists each operation's kinds (./openapi `errorResponses`), so what it says cannot drift
 * from what is thrown.
 */
export interface ErrorKind {
  status: ContentfulStatusCode;
  code: ErrorCode;
  /** When an operation answers it, for the document. */
  description: string;
  /** Headers it is sent with, as OpenAPI header objects. */
  headers?: Record<string, { description: string; schema: { type: 'integer' | 'string'; minimum?: number } }>;
  /** Sent as `Retry-After` with it (`retryAfter` gives both this and its header). */
  retryAfterSeconds?: number;
}

/** What an error of `code` (a 503) carries to tell a client when to ask again: the header it is sent with, and its document. */
export function retryAfter(code: ErrorCode, seconds: number): Pick<ErrorKind, 'headers' | 'retryAfterSeconds'> {
  return {
    retryAfterSeconds: seconds,
    headers: {
      'Retry-After': {
        description: `Seconds to wait before asking again (with code ${code}): ${seconds}`,
        schema: { type: 'integer', minimum: 0 },
      },
    },
  };
}

/** An error of `kind`, with a message naming what to change. */
export function apiError(kind: ErrorKind, message: string, options?: { cause?: unknown }): ApiError {
  return new ApiError(kind.status, kind.code, message, { ...options, retryAfterSeconds: kind.retryAfterSeconds });
}
