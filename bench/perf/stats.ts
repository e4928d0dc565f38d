/**
 * Pure arithmetic of the performance benchmark: latency percentiles, rates, and the deterministic
 * perturbation that derives many realistic embeddings from a pool of real ones.
 */
import type { Rng } from '../../core/random.js';

/** p50 / p95 / p99 of a latency sample, in milliseconds. */
export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/** Nearest-rank percentile (0 for an empty sample). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** p50, p95 and p99 of `values`, rounded to 0.01 ms. */
export function percentiles(values: readonly number[]): Percentiles {
  const r = (x: number): number => Math.round(x * 100) / 100;
  return { p50: r(percentile(values, 50)), p95: r(percentile(values, 95)), p99: r(percentile(values, 99)) };
}

/** Items per second, rounded to 0.1; 0 when no time passed. */
export function rate(items: number, seconds: number): number {
  return seconds > 0 ? Math.round((items / seconds) * 10) / 10 : 0;
}

/** A ratio rounded to 0.001; 0 when the denominator is 0. */
export function ratio(a: number, b: number): number {
  return b > 0 ? Math.round((a / b) * 1000) / 1000 : 0;
}

/** A standard normal draw (Box-Muller) from a uniform source. */
export function gaussian(rng: Rng): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * A unit vector near `base`: base + noise of norm ≈ `spread` (isotropic), renormalised and rounded
 * to float32 like the embedder's output. With spread 0.35 the cosine to the base is about 0.94: a
 * paraphrase, not a copy, so the kNN index sees a realistic, non-degenerate neighbourhood.
 */
export function perturb(base: ArrayLike<number>, rng: Rng, spread: number): number[] {
  const d = base.length;
  const scale = spread / Math.sqrt(d);
  const out = new Array<number>(d);
  let norm = 0;
  for (let i = 0; i < d; i++) {
    const x = (base[i] as number) + scale * gaussian(rng);
    out[i] = x;
    norm += x * x;
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < d; i++) out[i] = Math.fround((out[i] as number) / norm);
  return out;
}
