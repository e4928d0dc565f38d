/**
 * What the binary first pass of dense search gives up: for sample questions, the share of the exact
 * top-k (per granularity, as retrieval asks for it) that the fast path also returns.
 */
import type { Engine } from '../../apps/engine.js';
import { GRANULARITIES } from '../../core/model.js';
import type { Scope } from '../../core/scope.js';
import { SqliteVectorIndex } from '../../infra/embedded/vector-index.js';

/** Share (0..1) of the exact top `depth` found by `searchDense`; null when the index has no exact reference. */
export async function denseRecall(engine: Engine, scope: Scope, questions: readonly string[], depth = 40): Promise<number | null> {
  const index = engine.ports.vectors;
  if (!(index instanceof SqliteVectorIndex)) return null;
  let shared = 0;
  let total = 0;
  for (const q of questions) {
    const [vector] = (await engine.ports.embedder.embed([q])) as [number[]];
    for (const g of GRANULARITIES) {
      const filter = { granularities: [g] };
      const exact = await index.searchDenseExact(scope, vector, depth, filter);
      const fast = new Set((await index.searchDense(scope, vector, depth, filter)).map((h) => h.id));
      shared += exact.filter((h) => fast.has(h.id)).length;
      total += exact.length;
    }
  }
  return total === 0 ? null : shared / total;
}
