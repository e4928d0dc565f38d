/**
 * The payload of a memory point in Qdrant and the filters over it (pure). Both live here because
 * they must agree on field names and on the open-end encoding: a null `validTo` / `supersededAt`
 * is stored as OPEN_END, so "still open at t" is the plain range `> t`, as in the embedded index.
 * Every filter starts with the scope (tenant and user), so no query, update or delete built here
 * can reach another scope's points. Values are validated with the embedded adapter's checks
 * (infra/vector-checks.ts).
 */
import type { Schemas } from '@qdrant/js-client-rest';
import { GRANULARITIES, MEMORY_KINDS, MEMORY_STATUSES } from '../../core/model.js';
import type { Granularity, MemoryKind, MemoryStatus } from '../../core/model.js';
import type { SearchFilter, VectorDoc } from '../../core/ports.js';
import { assertScopeId } from '../../core/scope.js';
import type { Scope } from '../../core/scope.js';
import { assertOneOf, assertTime, checkedInstant, validateDocMetadata } from '../vector-checks.js';

/**
 * Stored for an open end: the same sentinel as the embedded index (FAR_FUTURE), an i64 in Qdrant
 * and exact in JSON and in Qdrant's f64 range bounds.
 */
export const OPEN_END = Number.MAX_SAFE_INTEGER;

/** Payload field names (also the names of their payload indexes). */
export const FIELD = {
  memoryId: 'memoryId',
  tenant: 'tenant',
  user: 'user',
  text: 'text',
  kind: 'kind',
  granularity: 'granularity',
  status: 'status',
  validFrom: 'validFrom',
  validTo: 'validTo',
  recordedAt: 'recordedAt',
  supersededAt: 'supersededAt',
} as const;

/** What a memory point carries besides its vectors. */
export interface MemoryPayload {
  readonly memoryId: string;
  readonly tenant: string;
  readonly user: string;
  readonly text: string;
  readonly kind: MemoryKind;
  readonly granularity: Granularity;
  readonly status: MemoryStatus;
  readonly validFrom: number;
  readonly validTo: number;
  readonly recordedAt: number;
  readonly supersededAt: number;
}

export type QdrantFilter = Schemas['Filter'];
type Condition = Schemas['Condition'];

/** Throws a ValidationError unless both scope ids are valid. */
export function assertScope(scope: Scope): void {
  assertScopeId('tenant', scope?.tenantId);
  assertScopeId('user', scope?.userId);
}

/** Encodes an open end (null) as OPEN_END. */
export function encodeEnd(t: number | null): number {
  return t ?? OPEN_END;
}

/** Decodes OPEN_END back to null. */
export function decodeEnd(t: number): number | null {
  return t >= OPEN_END ? null : t;
}

/** The payload of a document in a scope (validated). */
export function payloadOf(scope: Scope, doc: VectorDoc): MemoryPayload {
  assertScope(scope);
  validateDocMetadata(doc);
  return {
    memoryId: doc.id,
    tenant: scope.tenantId,
    user: scope.userId,
    text: doc.text,
    kind: doc.kind,
    granularity: doc.granularity,
    status: doc.status,
    validFrom: doc.validFrom,
    validTo: encodeEnd(doc.validTo),
    recordedAt: doc.recordedAt,
    supersededAt: encodeEnd(doc.supersededAt),
  };
}

/** The payload fields `setStatus` changes (validated). */
export function statusPayloadOf(
  status: MemoryStatus,
  validTo: number | null,
  supersededAt: number | null,
): Pick<MemoryPayload, 'status' | 'validTo' | 'supersededAt'> {
  assertOneOf('status', status, MEMORY_STATUSES);
  assertTime('validTo', validTo);
  assertTime('supersededAt', supersededAt);
  return { status, validTo: encodeEnd(validTo), supersededAt: encodeEnd(supersededAt) };
}

/** The conditions that pin a request to one scope. */
export function scopeConditions(scope: Scope): Condition[] {
  assertScope(scope);
  return [
    { key: FIELD.tenant, match: { value: scope.tenantId } },
    { key: FIELD.user, match: { value: scope.userId } },
  ];
}

/** Points of a scope with one of these point ids (for scoped updates and deletes). */
export function scopedIdsFilter(scope: Scope, pointIds: readonly string[]): QdrantFilter {
  return { must: [...scopeConditions(scope), { has_id: [...pointIds] }] };
}

/**
 * The search filter of a scope: scope, statuses (default `active` only), kinds, granularities and
 * both time axes. Returns null when the filter can match nothing (an empty list).
 */
export function searchFilterOf(scope: Scope, filter?: SearchFilter): QdrantFilter | null {
  const must: Condition[] = scopeConditions(scope);
  const anyOf = (field: string, values: readonly string[], allowed: readonly string[]): boolean => {
    for (const v of values) assertOneOf(field, v, allowed);
    const unique = [...new Set(values)];
    if (unique.length === 0) return false;
    must.push({ key: field, match: { any: unique } });
    return true;
  };
  if (!anyOf(FIELD.status, filter?.statuses ?? ['active'], MEMORY_STATUSES)) return null;
  if (filter?.kinds !== undefined && !anyOf(FIELD.kind, filter.kinds, MEMORY_KINDS)) return null;
  if (filter?.granularities !== undefined && !anyOf(FIELD.granularity, filter.granularities, GRANULARITIES)) {
    return null;
  }
  // Times are integers, so `x <= t` is `x <= floor(t)` and `x > t` is `x > floor(t)`.
  if (filter?.validAt !== undefined) {
    const t = Math.floor(checkedInstant('validAt', filter.validAt));
    must.push({ key: FIELD.validFrom, range: { lte: t } }, { key: FIELD.validTo, range: { gt: t } });
  }
  if (filter?.knownAt !== undefined) {
    const t = Math.floor(checkedInstant('knownAt', filter.knownAt));
    must.push({ key: FIELD.recordedAt, range: { lte: t } }, { key: FIELD.supersededAt, range: { gt: t } });
  }
  return { must };
}
