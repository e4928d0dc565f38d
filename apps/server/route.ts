/**
 * How the core API declares a route: method, path, who may call it, and zod schemas for each
 * part. From that one declaration come the validation, the OpenAPI entry (with its security and
 * error responses) and a handler that receives parsed, typed input and the caller's principal.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { z } from 'zod';
import { principalOf, requireAdmin, type Principal } from './auth.js';
import { ErrorBody } from './schemas.js';
import { jsonSchemaOf, zodSchemaOf, zodValidatorCompiler } from './zod-openapi.js';

/** Who may call a route: anyone, any valid key, or an admin key. */
export type Access = 'public' | 'key' | 'admin';

/** The security requirement of keyed routes (either header). */
export const KEYED_SECURITY: { [scheme: string]: string[] }[] = [{ bearerAuth: [] }, { apiKeyHeader: [] }];

/** A response as handlers build it: the schema's input type, with readonly arrays allowed (service types are readonly). */
export type Answer<T> = T extends readonly (infer U)[]
  ? readonly Answer<U>[]
  : T extends object
    ? { readonly [K in keyof T]: Answer<T[K]> }
    : T;

export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType> {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: string;
  readonly access: Access;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** Status of a successful answer (200 unless said). */
  readonly status?: number;
  readonly response: R;
  /** Error statuses besides the ones access and input imply. */
  readonly errors?: readonly number[];
  /** Other statuses with their own body (not the error body). */
  readonly responses?: Readonly<Record<number, z.ZodType>>;
}

export interface RouteInput<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  readonly params: z.output<P>;
  readonly query: z.output<Q>;
  readonly body: z.output<B>;
  /** The caller (throws 401 when read on a public route without a key). */
  readonly principal: Principal;
  readonly req: FastifyRequest;
  readonly reply: FastifyReply;
}

/** Options every route shares. */
export interface RouteOptions {
  /** Answer 500 when a response does not match its schema (tests); otherwise log and send it as is. */
  readonly strictResponses?: boolean;
}

const ERROR_TEXT: Readonly<Record<number, string>> = {
  400: 'Invalid input',
  401: 'No valid API key',
  403: 'Not allowed for this key',
  404: 'Not found (in this tenant)',
  413: 'Body too large',
  429: 'Rate limited',
  503: 'Not ready',
};

/** Error statuses a route can answer with. */
function errorStatuses(spec: RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType>): number[] {
  const out = new Set<number>(spec.errors ?? []);
  if (spec.params || spec.query || spec.body) out.add(400);
  if (spec.access !== 'public') [401, 429].forEach((s) => out.add(s));
  if (spec.access === 'admin') out.add(403);
  if (spec.body) out.add(413);
  return [...out].sort((a, b) => a - b);
}

/** Registers a route on `app` from its declaration. */
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
  app: FastifyInstance,
  spec: RouteSpec<P, Q, B, R>,
  handler: (input: RouteInput<P, Q, B>) => Promise<Answer<z.input<R>>>,
  opts: RouteOptions = {},
): void {
  const status = spec.status ?? 200;
  const response: Record<string, unknown> = { [status]: jsonSchemaOf(spec.response, 'output', { description: spec.summary }) };
  for (const s of errorStatuses(spec as RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType>)) {
    response[s] = jsonSchemaOf(ErrorBody, 'output', { description: ERROR_TEXT[s] ?? 'Error' });
  }
  for (const [s, body] of Object.entries(spec.responses ?? {})) response[s] = jsonSchemaOf(body, 'output', { description: ERROR_TEXT[Number(s)] ?? spec.summary });
  const schema: FastifySchema & Record<string, unknown> = {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [...spec.tags],
    security: spec.access === 'public' ? [] : KEYED_SECURITY,
    ...(spec.params ? { params: jsonSchemaOf(spec.params, 'input') } : {}),
    ...(spec.query ? { querystring: jsonSchemaOf(spec.query, 'input') } : {}),
    ...(spec.body ? { body: jsonSchemaOf(spec.body, 'input') } : {}),
    response,
  };
  app.route({
    method: spec.method,
    url: spec.url,
    schema,
    // Probes (health, readiness) are not rate-limited: an orchestrator polls them.
    config: spec.access === 'public' ? { rateLimit: false } : {},
    validatorCompiler: zodValidatorCompiler,
    serializerCompiler: ({ schema: part }) => {
      const zs = zodSchemaOf(part);
      return (data: unknown) => {
        if (!zs) return JSON.stringify(data);
        const r = zs.safeParse(data);
        if (r.success) return JSON.stringify(r.data);
        // Drift between the service and the documented schema: loud in tests, logged in production.
        if (opts.strictResponses) throw new Error(`response of ${spec.operationId} does not match its schema: ${r.error.message}`);
        app.log.warn({ operation: spec.operationId, issues: r.error.issues.slice(0, 5) }, 'response does not match its schema');
        return JSON.stringify(data);
      };
    },
    // After the rate limiter (onRequest) and before the body is read: no key, no parsing.
    preParsing:
      spec.access === 'public'
        ? undefined
        : async (req, _reply, payload) => {
            const p = principalOf(req);
            if (spec.access === 'admin') requireAdmin(p);
            return payload;
          },
    handler: async (req, reply) => {
      const result = await handler({
        params: req.params as z.output<P>,
        query: req.query as z.output<Q>,
        body: req.body as z.output<B>,
        get principal() {
          return principalOf(req);
        },
        req,
        reply,
      });
      // A handler may choose another documented status (readiness: 503).
      if (reply.statusCode === 200) reply.status(status);
      return reply.send(result);
    },
  });
}
