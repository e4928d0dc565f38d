/**
 * Fusion of dense and keyword relevance across granularities. Within a memory, a convex
 * combination of its min-max scaled cosine and its BM25 score scaled by the best one (Bruch et al.
 * 2023: scores carry more than ranks). Across granularities, optionally reciprocal-rank fusion
 * (Cormack et al. 2009) of each granularity's ranking, weighted by the router, so that a
 * granularity's best memory competes with the others' best whatever their score scales.
 */
import type { Granularity } from '../../core/model.js';

/** The RRF constant of Cormack et al. (2009): damps the weight of top ranks. */
export const RRF_K = 60;

/** One candidate as fusion sees it. */
export interface FusionInput {
  readonly id: string;
  readonly granularity: Granularity;
  /** Cosine with the query; undefined when dense retrieval is off. */
  readonly cosine: number | undefined;
  /** BM25 score (higher is better); 0 when the keyword lists did not return it. */
  readonly keyword: number;
}

export interface FusionOptions {
  /** Share of the dense score in the convex combination (0..1). */
  readonly denseShare: number;
  /** Fuse granularities by reciprocal rank (true) or by the weighted convex score itself (false). */
  readonly rankAcrossGranularities: boolean;
  /** Weight of each granularity (router × configured weight). */
  readonly weightOf: (g: Granularity) => number;
}

/** Fused relevance per candidate id (higher is better). Pure and deterministic. */
export function fuse(candidates: readonly FusionInput[], opts: FusionOptions): Map<string, number> {
  const cosines = candidates.flatMap((c) => (c.cosine === undefined ? [] : [c.cosine]));
  const lo = Math.min(...cosines);
  const hi = Math.max(...cosines);
  const maxKeyword = Math.max(0, ...candidates.map((c) => c.keyword));
  // Without one of the two signals the other carries the whole score.
  const alpha = cosines.length === 0 ? 0 : maxKeyword > 0 ? opts.denseShare : 1;
  const convex = new Map<string, number>();
  for (const c of candidates) {
    const d = c.cosine !== undefined && hi > lo ? (c.cosine - lo) / (hi - lo) : 0;
    const b = maxKeyword > 0 ? c.keyword / maxKeyword : 0;
    convex.set(c.id, alpha * d + (1 - alpha) * b);
  }
  const out = new Map<string, number>();
  if (!opts.rankAcrossGranularities) {
    for (const c of candidates) out.set(c.id, opts.weightOf(c.granularity) * (convex.get(c.id) as number));
    return out;
  }
  const byGranularity = new Map<Granularity, string[]>();
  for (const c of candidates) {
    const ids = byGranularity.get(c.granularity);
    if (ids) ids.push(c.id);
    else byGranularity.set(c.granularity, [c.id]);
  }
  for (const [g, ids] of byGranularity) {
    ids.sort((a, b) => (convex.get(b) as number) - (convex.get(a) as number) || (a < b ? -1 : 1));
    ids.forEach((id, rank) => out.set(id, opts.weightOf(g) / (RRF_K + rank + 1)));
  }
  return out;
}
