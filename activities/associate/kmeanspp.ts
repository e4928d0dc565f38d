/**
 * k-means++ seeding (greedy variant, as in scikit-learn) and a few Lloyd iterations: the starting
 * point for EM. Deterministic for a given Rng.
 */
import type { Rng } from '../../core/random.js';

type Points = readonly (readonly number[])[];

/** Squared Euclidean distance of two equal-length vectors. */
export function squaredDistance(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const t = (a[i] as number) - (b[i] as number);
    s += t * t;
  }
  return s;
}

/** Index drawn with probability proportional to `weights` (uniform when they sum to zero). */
function drawIndex(weights: Float64Array, total: number, rng: Rng): number {
  const n = weights.length;
  if (!(total > 0)) return Math.min(n - 1, Math.floor(rng.next() * n));
  const r = rng.next() * total;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += weights[i] as number;
    if (r < acc) return i;
  }
  // Rounding can leave r just above the running sum: take the last point with weight.
  for (let i = n - 1; i >= 0; i--) if ((weights[i] as number) > 0) return i;
  return n - 1;
}

/** k centres chosen by greedy k-means++ (each step keeps the best of 2 + ln k D²-sampled trials). */
export function kmeansPlusPlus(points: Points, k: number, rng: Rng): number[][] {
  const n = points.length;
  const first = Math.min(n - 1, Math.floor(rng.next() * n));
  const centres: number[][] = [[...(points[first] as readonly number[])]];
  const nearest = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    nearest[i] = squaredDistance(points[i] as readonly number[], centres[0] as number[]);
    total += nearest[i] as number;
  }
  const trials = 2 + Math.floor(Math.log(k));
  const trial = new Float64Array(n);
  const best = new Float64Array(n);
  while (centres.length < k) {
    let bestIndex = -1;
    let bestTotal = Infinity;
    for (let t = 0; t < trials; t++) {
      const candidate = drawIndex(nearest, total, rng);
      const c = points[candidate] as readonly number[];
      let sum = 0;
      for (let i = 0; i < n; i++) {
        trial[i] = Math.min(nearest[i] as number, squaredDistance(points[i] as readonly number[], c));
        sum += trial[i] as number;
      }
      // Strictly smaller keeps the earliest trial on ties, so the choice is reproducible.
      if (sum < bestTotal) {
        bestTotal = sum;
        bestIndex = candidate;
        best.set(trial);
      }
    }
    centres.push([...(points[bestIndex] as readonly number[])]);
    nearest.set(best);
    total = bestTotal;
  }
  return centres;
}

/** Index of the nearest centre (the lowest index on ties). */
export function nearestCentre(x: readonly number[], centres: readonly (readonly number[])[]): number {
  let best = 0;
  let bestD = Infinity;
  for (let j = 0; j < centres.length; j++) {
    const d = squaredDistance(x, centres[j] as readonly number[]);
    if (d < bestD) {
      bestD = d;
      best = j;
    }
  }
  return best;
}

/** Lloyd's k-means from the given centres; an empty cluster keeps its centre. Returns centres and labels. */
export function lloyd(
  points: Points,
  initial: readonly (readonly number[])[],
  maxIter: number,
): { centres: number[][]; labels: number[] } {
  const n = points.length;
  const k = initial.length;
  const dim = (points[0] as readonly number[]).length;
  let centres = initial.map((c) => [...c]);
  const labels = new Array<number>(n).fill(-1);
  for (let iter = 0; iter < Math.max(1, maxIter); iter++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      const j = nearestCentre(points[i] as readonly number[], centres);
      if (j !== labels[i]) {
        labels[i] = j;
        changed = true;
      }
    }
    if (!changed) break;
    const sums = Array.from({ length: k }, () => new Array<number>(dim).fill(0));
    const counts = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i++) {
      const j = labels[i] as number;
      const x = points[i] as readonly number[];
      const s = sums[j] as number[];
      for (let t = 0; t < dim; t++) s[t] = (s[t] as number) + (x[t] as number);
      counts[j] = (counts[j] as number) + 1;
    }
    centres = centres.map((c, j) => {
      const m = counts[j] as number;
      return m === 0 ? c : (sums[j] as number[]).map((v) => v / m);
    });
  }
  return { centres, labels };
}
