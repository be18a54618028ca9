import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import { STATUSES } from '@tally/contract';
import type { ErrorCode, ErrorKind } from './errors';

/** A JSON body of `schema`, as a request body's or response's `content`. */
export const jsonContent = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });

/**
 * The responses of the errors an operation answers, one per status: its description says when
 * (each kind's own), its body names the possible codes (an enum), its headers are the kinds'.
 */
export function errorResponses(...kinds: ErrorKind[]) {
  const byStatus = new Map<ErrorKind['status'], ErrorKind[]>();
  for (const kind of kinds) byStatus.set(kind.status, [...(byStatus.get(kind.status) ?? []), kind]);
  return Object.fromEntries(
    [...byStatus].map(([status, group]) => {
      const codes = [...new Set(group.map((kind) => kind.code))] as [ErrorCode, ...ErrorCode[]];
      const headers = Object.assign({}, ...group.map((kind) => kind.headers)) as NonNullable<ErrorKind['headers']>;
      const response = {
        description: group.map((kind) => `${kind.description} (code ${kind.code})`).join('; '),
        content: jsonContent(errorBody(codes)),
        ...(Object.keys(headers).length > 0 && { headers }),
      };
      return [status, response];
    }),
  );
}

/** `{"error": {"code", "message"}}`, the body of every error (./errors `ApiError`). */
function errorBody(codes: [ErrorCode, ...ErrorCode[]]) {
  return z.object({
    error: z.object({
      code: z.enum(codes),
      message: z.string().meta({ description: 'What was wrong and what to change, for a person' }),
    }),
  });
}

/** Registers the bearer scheme that `security` of each operation names (./auth enforces it). */
export function registerSecurity(app: OpenAPIHono): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'Required when API_TOKEN is set',
  });
}

/** The OpenAPI 3.1 description of the routes registered on `app` with `app.openapi()`. */
export function openApiDocument(app: OpenAPIHono) {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Tally API',
      version: '1.0.0',
      description: `How many readings of each status (${STATUSES[0]}..${STATUSES.at(-1)}) arrived in a time range [start_time, end_time).`,
    },
    security: [{ bearer: [] }, {}],
  });
}
