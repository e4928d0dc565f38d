/**
 * PCA to a few dimensions before clustering: a Gaussian mixture over raw 512-d embeddings would
 * need far more points than one user has. Only the kept components are computed (Lanczos on the
 * smaller of the d×d scatter matrix and the n×n Gram matrix, applied through the data, never
 * formed), and only they are stored (as JSON).
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
/** A Ritz pair is converged when its residual is below this fraction of the largest Ritz value. */
const RESIDUAL_TOLERANCE = 1e-11;
/** Lanczos steps beyond the wanted count before convergence is first checked, and between checks. */
const LANCZOS_SLACK = 16;
const CHECK_EVERY = 8;

/** Symmetric eigen-decomposition of a small dense matrix: eigenpairs by decreasing eigenvalue. */
function symmetricEigen(m: Float64Array, size: number): { values: number[]; vectors: number[][] } {
  const mat = new Matrix(size, size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) mat.set(i, j, m[i * size + j] as number);
  const evd = new EigenvalueDecomposition(mat, { assumeSymmetric: true });
  const raw = evd.realEigenvalues;
  const vecs = evd.eigenvectorMatrix;
  const order = raw.map((_, i) => i).sort((a, b) => (raw[b] as number) - (raw[a] as number) || a - b);
  return { values: order.map((i) => raw[i] as number), vectors: order.map((i) => vecs.getColumn(i)) };
}

/** Eigenpairs of the m×m symmetric tridiagonal matrix with diagonal `alpha` and off-diagonal `beta`. */
function tridiagonalEigen(alpha: readonly number[], beta: readonly number[], m: number): { values: number[]; vectors: number[][] } {
  const t = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    t[i * m + i] = alpha[i] as number;
    if (i + 1 < m) {
      t[i * m + i + 1] = beta[i] as number;
      t[(i + 1) * m + i] = beta[i] as number;
    }
  }
  return symmetricEigen(t, m);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** Removes from `w` its components along the (orthonormal) basis, twice for numerical safety. */
function orthogonalise(w: Float64Array, basis: readonly Float64Array[]): void {
  for (let pass = 0; pass < 2; pass++) {
    for (const q of basis) {
      const c = dot(w, q);
      for (let i = 0; i < w.length; i++) w[i] = (w[i] as number) - c * (q[i] as number);
    }
  }
}

/**
 * The `want` largest eigenpairs (eigenvalues decreasing, unit eigenvectors) of a symmetric
 * positive semi-definite operator of order `size`, by Lanczos with full reorthogonalisation. The
 * start vectors are a fixed pseudo-random sequence, so the same operator gives the same result.
 * When the Krylov space closes (rank deficiency, repeated eigenvalues) a fresh vector orthogonal
 * to it continues the basis. Stops once every wanted Ritz pair's residual is negligible, or when
 * the basis spans the space (then the result is a full, exact decomposition).
 */
function topEigen(apply: (v: Float64Array, out: Float64Array) => void, size: number, want: number): { values: number[]; vectors: Float64Array[] } {
  let state = 0x9e3779b9;
  const random = (): Float64Array => {
    const v = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      // xorshift32: deterministic, no shared Rng needed for a start vector.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      v[i] = (state >>> 0) / 2 ** 32 - 0.5;
    }
    return v;
  };
  const basis: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  let scale = 0;
  /** The next basis vector from `w` (orthogonalised already), or null when it is (numerically) zero. */
  const unit = (w: Float64Array, reference: number): Float64Array | null => {
    const norm = Math.sqrt(dot(w, w));
    if (!(norm > 1e-12 * Math.max(reference, Number.MIN_VALUE))) return null;
    for (let i = 0; i < size; i++) w[i] = (w[i] as number) / norm;
    return w;
  };
  let q = unit(random(), 0) as Float64Array;
  let ritz: { values: number[]; vectors: number[][] } = { values: [], vectors: [] };
  for (;;) {
    basis.push(q);
    const w = new Float64Array(size);
    apply(q, w);
    alpha.push(dot(w, q));
    orthogonalise(w, basis);
    const b = Math.sqrt(dot(w, w));
    scale = Math.max(scale, Math.abs(alpha[alpha.length - 1] as number) + b);
    const m = basis.length;
    const full = m === size;
    if (full || (m >= want + LANCZOS_SLACK && (m - want - LANCZOS_SLACK) % CHECK_EVERY === 0)) {
      ritz = tridiagonalEigen(alpha, beta, m);
      const top = Math.max(ritz.values[0] ?? 0, 0);
      // A Q_m = Q_m T_m + b q_{m+1} e_mᵀ: pair i's residual is b·|last entry of its vector|.
      const converged = ritz.vectors.slice(0, want).every((s) => b * Math.abs(s[m - 1] as number) <= RESIDUAL_TOLERANCE * top);
      if (full || converged) break;
    }
    let next = unit(w, scale);
    if (next) beta.push(b);
    else {
      // The Krylov space is invariant: continue from a fresh direction outside it.
      beta.push(0);
      const fresh = random();
      orthogonalise(fresh, basis);
      next = unit(fresh, 1);
      if (!next) break;
    }
    q = next;
  }
  const m = basis.length;
  // Left after the space was exhausted: the decomposition of the whole basis.
  if (ritz.values.length !== m) ritz = tridiagonalEigen(alpha, beta, m);
  const k = Math.min(want, m);
  const vectors = ritz.vectors.slice(0, k).map((s) => {
    const v = new Float64Array(size);
    for (let j = 0; j < m; j++) {
      const c = s[j] as number;
      const qj = basis[j] as Float64Array;
      for (let i = 0; i < size; i++) v[i] = (v[i] as number) + c * (qj[i] as number);
    }
    return v;
  });
  return { values: ritz.values.slice(0, k), vectors };
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
  // Centred points, row-major n×d.
  const x = new Float64Array(n * dim);
  points.forEach((p, r) => {
    for (let t = 0; t < dim; t++) x[r * dim + t] = (p[t] as number) - (mean[t] as number);
  });
  const want = Math.max(1, Math.min(maxDims, dim, n - 1));
  const denom = Math.max(1, n - 1);

  let axes: { value: number; vector: number[] }[] = [];
  if (n > 1) {
    // X v (n) and Xᵀ u (d), so neither Xᵀ X nor X Xᵀ is ever formed.
    const times = (v: Float64Array, out: Float64Array): void => {
      for (let r = 0; r < n; r++) {
        let s = 0;
        const o = r * dim;
        for (let t = 0; t < dim; t++) s += (x[o + t] as number) * (v[t] as number);
        out[r] = s;
      }
    };
    const transposeTimes = (u: Float64Array, out: Float64Array): void => {
      out.fill(0);
      for (let r = 0; r < n; r++) {
        const ur = u[r] as number;
        if (ur === 0) continue;
        const o = r * dim;
        for (let t = 0; t < dim; t++) out[t] = (out[t] as number) + ur * (x[o + t] as number);
      }
    };
    if (dim <= n) {
      // Scatter matrix Xᵀ X (d×d).
      const tmp = new Float64Array(n);
      const { values, vectors } = topEigen((v, out) => {
        times(v, tmp);
        transposeTimes(tmp, out);
      }, dim, want);
      axes = values.map((value, i) => ({ value, vector: Array.from(vectors[i] as Float64Array) }));
    } else {
      // Gram matrix X Xᵀ (n×n): its eigenvector u maps to the axis Xᵀ u / |Xᵀ u|.
      const tmp = new Float64Array(dim);
      const { values, vectors } = topEigen((u, out) => {
        transposeTimes(u, tmp);
        times(tmp, out);
      }, n, want);
      axes = values.map((value, i) => {
        const v = new Float64Array(dim);
        transposeTimes(vectors[i] as Float64Array, v);
        return { value, vector: Array.from(v) };
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
