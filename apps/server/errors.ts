/**
 * How the API reports errors: always JSON `{ error: { code, message } }` with a status that
 * follows from the code. EngramErrors keep their code; Fastify's own errors (bad JSON, body too
 * large, rate limits) are mapped to the same vocabulary.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { EngramError } from '../../core/errors.js';

/** No valid API key. */
export class UnauthorizedError extends EngramError {
  constructor(message = 'a valid API key is required (Authorization: Bearer <key>)') {
    super(message, { code: 'unauthorized', retriable: false });
  }
}

/** A valid key that may not do this (another tenant's data, or an admin operation). */
export class ForbiddenError extends EngramError {
  constructor(message: string) {
    super(message, { code: 'forbidden', retriable: false });
  }
}

/** Too many requests for this key in the current window. */
export class RateLimitedError extends EngramError {
  /** Read by Fastify and by the rate limiter. */
  readonly statusCode = 429;
  constructor(message: string) {
    super(message, { code: 'rate_limited', retriable: true });
  }
}

/** Error code → HTTP status. */
export const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  invalid_input: 400,
  undecodable: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

/** HTTP status → error code, for errors that carry only a status (Fastify's, plugins'). */
const CODE_OF_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_input',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** The status and JSON body for any thrown value. */
export function errorResponse(err: unknown): { status: number; body: { error: { code: string; message: string } } } {
  if (err instanceof EngramError) {
    const status = STATUS_OF_CODE[err.code] ?? (err.retriable ? 503 : 500);
    return { status, body: { error: { code: err.code, message: err.message } } };
  }
  const e = err as Partial<FastifyError>;
  const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
  // Internal details stay in the log, not in the response.
  const message = status >= 500 ? 'internal error' : (e.message ?? 'bad request');
  return { status, body: { error: { code: CODE_OF_STATUS[status] ?? (status >= 500 ? 'internal' : 'bad_request'), message } } };
}

/** Fastify error handler: logs server faults, answers with the JSON error. */
export function handleError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = errorResponse(err);
  if (status >= 500) req.log.error({ err }, 'request failed');
  return reply.status(status).send(body);
}

/** Fastify not-found handler: an unknown route is a JSON 404 like any other. */
export function handleNotFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
}
