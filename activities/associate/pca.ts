/**
 * PCA to a few dimensions before clustering: a Gaussian mixture over raw 512-d embeddings would
 * need far more points than one user has. The eigen-decomposition is of whichever is smaller, the
 * d×d scatter matrix or the n×n Gram matrix, and only the kept components are stored (as JSON).
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { ValidationError } from '../../core/errors.js';
import { checkPoints } from './gmm.js';

/** A fitted projection: `project(x) = components · (x - mean)`. */
export interface PcaProjection {
  readonly mean: number[];
  /** Unit-length principal axes, one row per output dimension, strongest first. */
  readonly components: number[][];
  /** Sample variance along each component. */
  readonly explainedVariance: number[];
}

type Points = readonly (readonly number[])[];

/** Eigenvalues below this fraction of the largest are rank deficiency, not signal. */
const RANK_TOLERANCE = 1e-10;

/** Symmetric eigen-decomposition: eigenpairs sorted by decreasing eigenvalue (columns as arrays). */
function symmetricEigen(m: Float64Array, size: number): { values: number[]; vectors: number[][] } {
  const mat = new Matrix(size, size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) mat.set(i, j, m[i * size + j] as number);
  const evd = new EigenvalueDecomposition(mat, { assumeSymmetric: true });
  const raw = evd.realEigenvalues;
  const vecs = evd.eigenvectorMatrix;
  const order = raw.map((_, i) => i).sort((a, b) => (raw[b] as number) - (raw[a] as number) || a - b);
  return { values: order.map((i) => raw[i] as number), vectors: order.map((i) => vecs.getColumn(i)) };
}

/** Flip an axis so its largest-magnitude entry is positive: the same data always gives the same signs. */
function canonicalSign(v: number[]): number[] {
  let idx = 0;
  for (let i = 1; i < v.length; i++) if (Math.abs(v[i] as number) > Math.abs(v[idx] as number)) idx = i;
  return (v[idx] as number) < 0 ? v.map((x) => -x) : v;
}

function normalise(v: number[]): number[] | null {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return norm > 0 && Number.isFinite(norm) ? v.map((x) => x / norm) : null;
}

/** Fit PCA keeping at most `maxDims` components (and at most n-1, never fewer than 1). */
export function fitPca(points: Points, maxDims: number): PcaProjection {
  const dim = checkPoints(points);
  if (!Number.isInteger(maxDims) || maxDims < 1) throw new ValidationError(`maxDims must be a positive integer, got ${maxDims}`);
  const n = points.length;
  const mean = new Array<number>(dim).fill(0);
  for (const p of points) for (let t = 0; t < dim; t++) mean[t] = (mean[t] as number) + (p[t] as number);
  for (let t = 0; t < dim; t++) mean[t] = (mean[t] as number) / n;
  const centred = points.map((p) => p.map((v, t) => v - (mean[t] as number)));
  const want = Math.max(1, Math.min(maxDims, dim, n - 1));
  const denom = Math.max(1, n - 1);

  let axes: { value: number; vector: number[] }[] = [];
  if (n > 1) {
    if (dim <= n) {
      // Scatter matrix Xᵀ X (d×d), filled from its upper triangle.
      const s = new Float64Array(dim * dim);
      for (const x of centred) {
        for (let a = 0; a < dim; a++) {
          const xa = x[a] as number;
          if (xa === 0) continue;
          const o = a * dim;
          for (let b = a; b < dim; b++) s[o + b] = (s[o + b] as number) + xa * (x[b] as number);
        }
      }
      for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) s[a * dim + b] = s[b * dim + a] as number;
      const { values, vectors } = symmetricEigen(s, dim);
      axes = values.map((value, i) => ({ value, vector: vectors[i] as number[] }));
    } else {
      // Gram matrix X Xᵀ (n×n): its eigenvector u maps to the axis Xᵀ u / |Xᵀ u|.
      const g = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        const xi = centred[i] as number[];
        for (let j = i; j < n; j++) {
          const xj = centred[j] as number[];
          let dot = 0;
          for (let t = 0; t < dim; t++) dot += (xi[t] as number) * (xj[t] as number);
          g[i * n + j] = dot;
          g[j * n + i] = dot;
        }
      }
      const { values, vectors } = symmetricEigen(g, n);
      axes = values.map((value, i) => {
        const u = vectors[i] as number[];
        const v = new Array<number>(dim).fill(0);
        for (let r = 0; r < n; r++) {
          const ur = u[r] as number;
          const x = centred[r] as number[];
          for (let t = 0; t < dim; t++) v[t] = (v[t] as number) + ur * (x[t] as number);
        }
        return { value, vector: v };
      });
    }
  }

  const top = axes[0]?.value ?? 0;
  const components: number[][] = [];
  const explainedVariance: number[] = [];
  for (const axis of axes) {
    if (components.length >= want) break;
    if (!(axis.value > RANK_TOLERANCE * top) || !(top > 0)) break;
    const unit = normalise(axis.vector);
    if (!unit) break;
    components.push(canonicalSign(unit));
    explainedVariance.push(axis.value / denom);
  }
  if (components.length === 0) {
    // No variance at all (one point, or all identical): keep one axis so downstream code has a space.
    const e = new Array<number>(dim).fill(0);
    e[0] = 1;
    components.push(e);
    explainedVariance.push(0);
  }
  return { mean, components, explainedVariance };
}

/** Project one vector onto the fitted components. */
export function project(pca: PcaProjection, x: readonly number[]): number[] {
  if (x.length !== pca.mean.length) {
    throw new ValidationError(`vector has ${x.length} dimensions but the projection expects ${pca.mean.length}`);
  }
  return pca.components.map((c) => {
    let s = 0;
    for (let t = 0; t < c.length; t++) s += (c[t] as number) * ((x[t] as number) - (pca.mean[t] as number));
    return s;
  });
}

/** Check that a parsed JSON value is a usable PcaProjection. */
export function parsePcaProjection(value: unknown): PcaProjection {
  const fail = (why: string): never => {
    throw new ValidationError(`not a PCA projection: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const v = value as Record<string, unknown>;
  const finite = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!finite(v.mean) || v.mean.length === 0) return fail('bad mean');
  const dim = v.mean.length;
  const comps = v.components;
  if (!Array.isArray(comps) || comps.length === 0 || !comps.every((c) => finite(c) && c.length === dim)) return fail('bad components');
  const ev = v.explainedVariance;
  if (!finite(ev) || ev.length !== comps.length) return fail('bad explained variance');
  return { mean: v.mean, components: comps as number[][], explainedVariance: ev };
}
