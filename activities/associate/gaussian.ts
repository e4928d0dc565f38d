/**
 * Log-densities of multivariate normals with diagonal or full covariance, precomputed once per
 * component so EM and scoring do not refactor the covariance for every point.
 */

const LOG_2PI = Math.log(2 * Math.PI);

/** A normal ready for scoring: log-normaliser plus either inverse variances or a Cholesky factor. */
export type PreparedGaussian =
  | { readonly kind: 'diagonal'; readonly mean: readonly number[]; readonly invVar: Float64Array; readonly logNorm: number }
  | { readonly kind: 'full'; readonly mean: readonly number[]; readonly chol: Float64Array; readonly logNorm: number };

/** Lower-triangular Cholesky factor of a symmetric m×m matrix (row-major), or null if not positive definite. */
export function cholesky(a: readonly (readonly number[])[]): Float64Array | null {
  const m = a.length;
  const l = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const row = a[i] as readonly number[];
    for (let j = 0; j <= i; j++) {
      let s = row[j] as number;
      for (let t = 0; t < j; t++) s -= (l[i * m + t] as number) * (l[j * m + t] as number);
      if (i === j) {
        if (!(s > 0) || !Number.isFinite(s)) return null;
        l[i * m + i] = Math.sqrt(s);
      } else {
        l[i * m + j] = s / (l[j * m + j] as number);
      }
    }
  }
  return l;
}

/** Prepare a diagonal normal; variances must be positive (callers add the regulariser first). */
export function prepareDiagonal(mean: readonly number[], variances: readonly number[]): PreparedGaussian {
  const d = mean.length;
  const invVar = new Float64Array(d);
  let logDet = 0;
  for (let t = 0; t < d; t++) {
    const v = variances[t] as number;
    invVar[t] = 1 / v;
    logDet += Math.log(v);
  }
  return { kind: 'diagonal', mean, invVar, logNorm: -0.5 * (d * LOG_2PI + logDet) };
}

/** Prepare a full normal from its Cholesky factor (see `cholesky`). */
export function prepareFull(mean: readonly number[], chol: Float64Array): PreparedGaussian {
  const d = mean.length;
  let logDet = 0;
  for (let t = 0; t < d; t++) logDet += 2 * Math.log(chol[t * d + t] as number);
  return { kind: 'full', mean, chol, logNorm: -0.5 * (d * LOG_2PI + logDet) };
}

/** log N(x | mean, covariance). */
export function logDensity(g: PreparedGaussian, x: readonly number[]): number {
  const d = g.mean.length;
  let maha = 0;
  if (g.kind === 'diagonal') {
    for (let t = 0; t < d; t++) {
      const z = (x[t] as number) - (g.mean[t] as number);
      maha += z * z * (g.invVar[t] as number);
    }
  } else {
    // Forward substitution L y = (x - mean); the Mahalanobis distance is |y|².
    const y = new Float64Array(d);
    const l = g.chol;
    for (let i = 0; i < d; i++) {
      let s = (x[i] as number) - (g.mean[i] as number);
      for (let t = 0; t < i; t++) s -= (l[i * d + t] as number) * (y[t] as number);
      const yi = s / (l[i * d + i] as number);
      y[i] = yi;
      maha += yi * yi;
    }
  }
  return g.logNorm - 0.5 * maha;
}

/** log Σ exp(values), stable for large magnitudes; -Infinity for an empty or all -Infinity input. */
export function logSumExp(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if ((values[i] as number) > max) max = values[i] as number;
  if (max === -Infinity) return -Infinity;
  if (max === Infinity) return Infinity;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.exp((values[i] as number) - max);
  return max + Math.log(s);
}
