/**
 * Search: validates a request, runs multi-granularity retrieval (./retrieval/retrieve.ts) over a
 * user's memories, and returns hits with validity and provenance.
 */
import { ValidationError } from '../core/errors.js';
import type { Granularity, MemoryKind, MemoryStatus, SourceRef, Triple } from '../core/model.js';
import type { SearchFilter } from '../core/ports.js';
import type { Scope } from '../core/scope.js';
import { retrieve, type RetrievalDeps } from './retrieval/retrieve.js';
import { RETRIEVAL_STAGES, type RetrievalStage } from './retrieval/stages.js';

export interface SearchOptions {
  readonly k?: number;
  readonly kinds?: readonly MemoryKind[];
  readonly granularities?: readonly Granularity[];
  /** World time: memories valid at this instant (time travel). */
  readonly asOf?: number;
  /** Include invalidated (expired) memories. */
  readonly includeInvalid?: boolean;
  /** Include memories the forgetting pass archived. */
  readonly includeArchived?: boolean;
  /** Retrieval stages to switch off (ablations). */
  readonly disable?: readonly RetrievalStage[];
}

export interface SearchHit {
  readonly id: string;
  readonly score: number;
  readonly text: string;
  readonly kind: MemoryKind;
  readonly granularity: Granularity;
  readonly status: MemoryStatus;
  readonly triple: Triple | null;
  readonly validFrom: number;
  readonly validTo: number | null;
  readonly recordedAt: number;
  readonly sources: readonly SourceRef[];
}

export type SearchDeps = RetrievalDeps;

/** Largest k a caller may ask for. */
export const MAX_K = 200;

/** The statuses a search reads: time travel needs expired memories too (validity decides what was true then). */
function statusesOf(opts: SearchOptions): MemoryStatus[] {
  const out: MemoryStatus[] = ['active'];
  if (opts.includeInvalid || opts.asOf !== undefined) out.push('invalidated');
  if (opts.includeArchived) out.push('archived');
  return out;
}

/** Searches one user's memories for `query`. */
export async function hybridSearch(deps: SearchDeps, scope: Scope, query: string, opts: SearchOptions = {}): Promise<SearchHit[]> {
  const k = opts.k ?? 10;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new ValidationError(`k must be an integer from 1 to ${MAX_K}`);
  if (query.trim() === '') throw new ValidationError('the query is empty');
  const unknown = (opts.disable ?? []).filter((s) => !(RETRIEVAL_STAGES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new ValidationError(`unknown retrieval stage ${unknown.join(', ')} (stages: ${RETRIEVAL_STAGES.join(', ')})`);
  const filter: SearchFilter = {
    kinds: opts.kinds,
    granularities: opts.granularities,
    statuses: statusesOf(opts),
    validAt: opts.asOf,
  };
  const ranked = await retrieve(deps, scope, query, { k, filter, disable: opts.disable });
  return ranked.map(({ state: s, score }) => {
    const m = s.memory;
    return {
      id: m.id,
      score,
      text: m.text,
      kind: m.kind,
      granularity: m.granularity,
      status: s.status,
      triple: m.triple,
      validFrom: m.validFrom,
      validTo: m.validTo,
      recordedAt: m.recordedAt,
      sources: m.sources,
    };
  });
}
