/**
 * Input checks shared by the VectorIndex adapters (embedded sqlite-vec, cluster Qdrant), so that
 * both reject the same documents, vectors and filter values with the same ValidationErrors.
 */
import { ValidationError } from '../core/errors.js';
import { GRANULARITIES, MEMORY_KINDS, MEMORY_STATUSES } from '../core/model.js';
import type { VectorDoc } from '../core/ports.js';

/** Largest `k` one search honours: sqlite-vec's KNN limit, kept by Qdrant so that both answer alike. */
export const MAX_K = 4096;

/** Largest time (ms) a filter may ask about: both adapters store an open end as this. */
const MAX_INSTANT = Number.MAX_SAFE_INTEGER;

/** Throws a ValidationError unless `value` is one of `allowed`. */
export function assertOneOf(field: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new ValidationError(`${field} must be one of ${allowed.join(', ')}, got ${String(value)}`, { field });
  }
}

/** Throws a ValidationError unless `value` is null (open) or an integer time in ms. */
export function assertTime(field: string, value: number | null): void {
  if (value !== null && !Number.isSafeInteger(value)) {
    throw new ValidationError(`${field} must be an integer time in ms, got ${value}`, { field });
  }
}

/** Returns a filter's time (`validAt`, `knownAt`) if finite and within the stored range, else throws. */
export function checkedInstant(field: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_INSTANT) {
    throw new ValidationError(`${field} must be a finite time in ms, got ${value}`, { field });
  }
  return value;
}

/** Throws unless `vector` has the index's `dimensions`, all finite; `id` names a document's embedding. */
export function assertVector(vector: readonly number[] | undefined, dimensions: number, id?: string): void {
  const what = id === undefined ? 'query vector' : `embedding of ${id}`;
  if (!Array.isArray(vector) || vector.length !== dimensions) {
    throw new ValidationError(
      `${what} has ${Array.isArray(vector) ? vector.length : 'no'} dimensions, the index has ${dimensions}`,
      { field: 'embedding', expected: dimensions },
    );
  }
  if (!vector.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new ValidationError(`${what} contains a non-finite number`, { field: 'embedding' });
  }
}

/** Validates a whole document for an index of `dimensions`: id and text, then vector, then metadata. */
export function validateDoc(doc: VectorDoc, dimensions: number): void {
  assertIdAndText(doc);
  assertVector(doc.embedding, dimensions, doc.id);
  assertMetadata(doc);
}

/** Validates a document's id, text and metadata (not its vector: that needs the dimensions). */
export function validateDocMetadata(doc: VectorDoc): void {
  assertIdAndText(doc);
  assertMetadata(doc);
}

/** `k` within bounds (0 for anything not a finite number). */
export function clampK(k: number): number {
  return Number.isFinite(k) ? Math.min(MAX_K, Math.max(0, Math.floor(k))) : 0;
}

function assertIdAndText(doc: VectorDoc): void {
  if (typeof doc?.id !== 'string' || doc.id === '') throw new ValidationError('document id must be a non-empty string');
  if (typeof doc.text !== 'string') throw new ValidationError(`document ${doc.id}: text must be a string`);
}

function assertMetadata(doc: VectorDoc): void {
  assertOneOf('kind', doc.kind, MEMORY_KINDS);
  assertOneOf('granularity', doc.granularity, GRANULARITIES);
  assertOneOf('status', doc.status, MEMORY_STATUSES);
  assertTime('validFrom', doc.validFrom);
  assertTime('validTo', doc.validTo);
  assertTime('recordedAt', doc.recordedAt);
  assertTime('supersededAt', doc.supersededAt);
}
