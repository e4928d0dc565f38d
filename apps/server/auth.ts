/**
 * API-key authentication. A request presents its key as `Authorization: Bearer <key>` or
 * `x-api-key: <key>`; the key's tenant scopes everything the request may see, and only admin keys
 * may run operations. Routes ask for a principal explicitly (`principalOf`), so routes added by
 * plugins (signed webhooks, metrics, the UI) are not forced through API keys.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from './errors.js';

/** Who is calling: the key, its tenant, and whether it has the admin scope. */
export interface Principal {
  readonly keyId: string;
  readonly tenantId: string;
  readonly admin: boolean;
}

/** Checks a presented key; null when it is unknown, malformed or revoked. */
export interface KeyVerifier {
  verify(presented: string): Principal | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The API key verifier of this server (set by `installAuth`). */
    engramKeys: KeyVerifier;
  }
}

/** One verification per request, whoever asks (rate limiter, route, plugin). */
const verified = new WeakMap<FastifyRequest, Principal | null>();

/** Makes `keys` the verifier of every route of `app` (call once, on the root instance). */
export function installAuth(app: FastifyInstance, keys: KeyVerifier): void {
  app.decorate('engramKeys', keys);
}

/** The key a request presents, if any. */
export function presentedKey(req: FastifyRequest): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m?.[1]) return m[1];
  }
  const header = req.headers['x-api-key'];
  return typeof header === 'string' && header.length > 0 ? header : null;
}

/** The request's principal, or null without a valid key (never throws). */
export function authenticate(req: FastifyRequest): Principal | null {
  if (verified.has(req)) return verified.get(req) ?? null;
  const key = presentedKey(req);
  const principal = key === null ? null : req.server.engramKeys.verify(key);
  verified.set(req, principal);
  return principal;
}

/** The request's principal; throws 401 `unauthorized` without a valid key. */
export function principalOf(req: FastifyRequest): Principal {
  const p = authenticate(req);
  if (!p) throw new UnauthorizedError(presentedKey(req) === null ? undefined : 'the API key is not valid (unknown, malformed or revoked)');
  return p;
}

/** Throws 403 `forbidden` unless the principal has the admin scope. */
export function requireAdmin(p: Principal): void {
  if (!p.admin) throw new ForbiddenError('this operation needs an admin key');
}

/** Throws 403 `forbidden` unless `tenantId` is the principal's tenant. */
export function requireTenant(p: Principal, tenantId: string): void {
  if (tenantId !== p.tenantId) throw new ForbiddenError(`this key may only act for tenant ${p.tenantId}`);
}

/** The rate-limit bucket of a request: its key when valid, else its address (so guessing keys is limited too). */
export function rateLimitBucket(req: FastifyRequest): string {
  const p = authenticate(req);
  return p ? `key:${p.keyId}` : `ip:${req.ip}`;
}
