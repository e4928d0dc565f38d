/**
 * Hybrid search: dense (cosine) and keyword (BM25) retrieval over a user's memories, fused by
 * reciprocal rank, then weighted by retention (the forgetting curve), and returned with validity
 * and provenance.
 */
import { ValidationError } from '../core/errors.js';
import type { Granularity, MemoryKind, MemoryStatus, SourceRef, Triple } from '../core/model.js';
import type { Embedder, MemoryStore, SearchFilter, VectorIndex } from '../core/ports.js';
import type { Scope } from '../core/scope.js';
import type { Clock } from '../core/random.js';
import { effectiveStrength, retention, type ForgettingOptions } from '../activities/forget/retention.js';
import { reciprocalRankFusion } from './rank-fusion.js';

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

export interface SearchDeps {
  readonly embedder: Embedder;
  readonly vectors: VectorIndex;
  readonly store: MemoryStore;
  /** For retention weighting; without it every memory counts as fully retained. */
  readonly clock?: Clock;
  readonly forgetting?: ForgettingOptions;
}

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
  const filter: SearchFilter = {
    kinds: opts.kinds,
    granularities: opts.granularities,
    statuses: statusesOf(opts),
    validAt: opts.asOf,
  };
  // Over-fetch each list so fusion has room to reorder.
  const depth = Math.max(k * 3, 30);
  const [vector] = await deps.embedder.embed([query]);
  const [dense, keyword] = await Promise.all([
    deps.vectors.searchDense(scope, vector as number[], depth, filter),
    deps.vectors.searchText(scope, query, depth, filter),
  ]);
  const fused = reciprocalRankFusion([dense, keyword]);
  const states = new Map((await deps.store.getMany(scope, fused.map((f) => f.id))).map((s) => [s.memory.id, s]));
  const hits: SearchHit[] = [];
  const now = deps.clock?.now();
  for (const f of fused) {
    const s = states.get(f.id);
    if (!s) continue;
    const m = s.memory;
    // Retention (Ebbinghaus) gently weights fused relevance; it never reorders beyond small margins.
    const r =
      now === undefined
        ? 1
        : retention(effectiveStrength(m.strength, s.accesses ?? 0, deps.forgetting), s.lastTouchedAt ?? m.recordedAt, now);
    const score = f.score * (0.75 + 0.25 * r);
    hits.push({
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
    });
  }
  return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1)).slice(0, k);
}
