/**
 * The entropy router of MemGAS: a granularity whose relevance scores peak on a few memories is
 * confident about the query; one whose scores are flat is not. Each granularity's weight falls with
 * the normalised entropy of the softmax of its top scores, so retrieval leans on the confident ones
 * while still mixing all of them.
 */

export interface RouterOptions {
  /** How many top scores form the distribution (default 10). */
  readonly top?: number;
  /** Softmax temperature over cosine scores (default 0.05: cosines differ by hundredths). */
  readonly temperature?: number;
  /** How sharply entropy differences turn into weight differences (default 0.1). */
  readonly sharpness?: number;
}

/** Normalised Shannon entropy (0 = one certain item, 1 = uniform) of the softmax of `scores`. */
export function normalisedEntropy(scores: readonly number[], temperature = 0.05): number {
  if (scores.length <= 1) return 0;
  const max = Math.max(...scores);
  const exps = scores.map((s) => Math.exp((s - max) / temperature));
  const z = exps.reduce((a, b) => a + b, 0);
  let h = 0;
  for (const e of exps) {
    const p = e / z;
    if (p > 0) h -= p * Math.log(p);
  }
  return h / Math.log(scores.length);
}

/**
 * Weights per granularity from each one's best-first relevance scores: softmax of negative entropy,
 * scaled so the weights average 1. A granularity with no scores gets weight 0.
 */
export function routeByEntropy<G extends string>(
  scores: ReadonlyMap<G, readonly number[]>,
  opts: RouterOptions = {},
): Map<G, number> {
  const top = opts.top ?? 10;
  const temperature = opts.temperature ?? 0.05;
  const sharpness = opts.sharpness ?? 0.1;
  const live = [...scores].filter(([, s]) => s.length > 0);
  const out = new Map<G, number>([...scores.keys()].map((g) => [g, 0]));
  if (live.length === 0) return out;
  const entropies = live.map(([g, s]) => [g, normalisedEntropy(s.slice(0, top), temperature)] as const);
  const exps = entropies.map(([g, h]) => [g, Math.exp(-h / sharpness)] as const);
  const z = exps.reduce((a, [, e]) => a + e, 0);
  for (const [g, e] of exps) out.set(g, (e / z) * live.length);
  return out;
}
