/**
 * Personalised PageRank (Haveliwala 2002) over a small weighted, undirected graph: the random walk
 * restarts at the seeds in proportion to their weights, so nodes close to many strong seeds score
 * high. Power iteration, a fixed number of steps, deterministic; dangling mass returns to the seeds.
 */

/** A weighted, undirected edge between two node ids. */
export interface WeightedEdge {
  readonly a: string;
  readonly b: string;
  readonly weight: number;
}

export interface PageRankOptions {
  /** Probability of following an edge rather than restarting at the seeds (default 0.5: stay local). */
  readonly damping?: number;
  /** Power-iteration steps (default 20). */
  readonly iterations?: number;
}

/** Stationary scores of a walk restarting at `seeds` (weights need not sum to 1); sums to 1 over the nodes. */
export function personalisedPageRank(
  seeds: ReadonlyMap<string, number>,
  edges: readonly WeightedEdge[],
  opts: PageRankOptions = {},
): Map<string, number> {
  const damping = opts.damping ?? 0.5;
  const iterations = opts.iterations ?? 20;
  if (!(damping >= 0 && damping < 1)) throw new RangeError('damping must be in [0, 1)');
  const index = new Map<string, number>();
  const idOf = (id: string): number => {
    let i = index.get(id);
    if (i === undefined) index.set(id, (i = index.size));
    return i;
  };
  let seedMass = 0;
  for (const [id, w] of seeds) {
    if (w > 0 && Number.isFinite(w)) {
      idOf(id);
      seedMass += w;
    }
  }
  if (seedMass === 0) return new Map();
  // Adjacency with summed weights (parallel edges add up); self-loops and non-positive weights are dropped.
  const adjacency: Map<number, number>[] = [];
  for (const e of edges) {
    if (e.a === e.b || !(e.weight > 0) || !Number.isFinite(e.weight)) continue;
    const a = idOf(e.a);
    const b = idOf(e.b);
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const row = (adjacency[x] ??= new Map());
      row.set(y, (row.get(y) ?? 0) + e.weight);
    }
  }
  const n = index.size;
  const restart = new Float64Array(n);
  for (const [id, w] of seeds) if (w > 0 && Number.isFinite(w)) restart[index.get(id) as number] = w / seedMass;
  const strength = new Float64Array(n);
  // The rows packed (CSR, in each row's insertion order, so sums run in the same order): the
  // iterations below then walk arrays instead of Map iterators.
  const start = new Int32Array(n + 1);
  adjacency.forEach((row, i) => (start[i + 1] = row.size));
  for (let i = 0; i < n; i++) start[i + 1] = (start[i + 1] as number) + (start[i] as number);
  const target = new Int32Array(start[n] as number);
  const weight = new Float64Array(start[n] as number);
  adjacency.forEach((row, i) => {
    let at = start[i] as number;
    for (const [j, w] of row) {
      strength[i] = (strength[i] as number) + w;
      target[at] = j;
      weight[at++] = w;
    }
  });

  let rank = Float64Array.from(restart);
  for (let step = 0; step < iterations; step++) {
    const next = new Float64Array(n);
    let dangling = 0;
    for (let i = 0; i < n; i++) {
      const r = rank[i] as number;
      if (r === 0) continue;
      if (adjacency[i] === undefined) {
        dangling += r;
        continue;
      }
      const s = strength[i] as number;
      for (let e = start[i] as number; e < (start[i + 1] as number); e++) {
        const j = target[e] as number;
        next[j] = (next[j] as number) + (damping * r * (weight[e] as number)) / s;
      }
    }
    // Restart mass plus what could not move (dangling nodes), both back to the seeds.
    const back = 1 - damping + damping * dangling;
    for (let i = 0; i < n; i++) next[i] = (next[i] as number) + back * (restart[i] as number);
    rank = next;
  }
  const out = new Map<string, number>();
  for (const [id, i] of index) out.set(id, rank[i] as number);
  return out;
}
