import { ValidationError } from './errors.js';

/** Tenant and user ids: letters, digits, `_` and `-`, 1 to 64 characters (DESIGN.md §4.7). */
export const SCOPE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Who a piece of memory belongs to. Every port method takes one. */
export interface Scope {
  readonly tenantId: string;
  readonly userId: string;
}

/** Throws a ValidationError unless `value` is a valid tenant or user id. */
export function assertScopeId(kind: 'tenant' | 'user', value: unknown): asserts value is string {
  if (typeof value !== 'string' || !SCOPE_ID.test(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value);
    throw new ValidationError(
      `invalid ${kind} id ${shown}: use 1-64 characters from A-Z, a-z, 0-9, '_' and '-'`,
      { field: `${kind}Id` },
    );
  }
}

/** Validates and returns a scope. */
export function scopeOf(tenantId: unknown, userId: unknown): Scope {
  assertScopeId('tenant', tenantId);
  assertScopeId('user', userId);
  return { tenantId, userId };
}

/** The partitioning key of both topics: `tenant/user`, so one user's events stay in order. */
export function scopeKey(scope: Scope): string {
  return `${scope.tenantId}/${scope.userId}`;
}

/** The id of the per-user memory workflow: `memory/<tenant>/<user>`. */
export function workflowIdOf(scope: Scope): string {
  return `memory/${scope.tenantId}/${scope.userId}`;
}
