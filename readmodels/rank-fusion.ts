import type { ScoredId } from '../core/ports.js';

/** The RRF constant of Cormack et al. (2009): damps the weight of top ranks. */
export const RRF_K = 60;

/** Reciprocal-rank fusion of several ranked lists (best first); returns ids by fused score. */
export function reciprocalRankFusion(lists: readonly (readonly ScoredId[])[], k = RRF_K): ScoredId[] {
  const scores = new Map<string, number>();
  for (const list of lists) {
    list.forEach((hit, rank) => scores.set(hit.id, (scores.get(hit.id) ?? 0) + 1 / (k + rank + 1)));
  }
  return [...scores.entries()]
    .map(([id, score]) => ({ id, score }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
}
