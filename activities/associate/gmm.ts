/**
 * Gaussian mixture models fitted by EM (DESIGN.md §5, after MemGAS): k-means++ initialisation from
 * a seeded Rng, a regulariser added to every variance, log-sum-exp responsibilities, several
 * seeded restarts keeping the best log-likelihood, and BIC to choose the number of components.
 * Degenerate input (one point, identical points, n < d, k > n) yields finite numbers, never NaN.
 * Models are plain JSON (arrays of numbers) so they can be stored in ClusterModelFitted events.
 */
import { ValidationError } from '../../core/errors.js';
import { seededRng, seedOf } from '../../core/random.js';
import type { Rng } from '../../core/random.js';
import { cholesky, logDensity, logSumExp, prepareDiagonal, prepareFull } from './gaussian.js';
import type { PreparedGaussian } from './gaussian.js';
import { kmeansPlusPlus, lloyd } from './kmeanspp.js';

export type CovarianceType = 'diagonal' | 'full';

/** A fitted mixture. Variances already include the regulariser. */
export interface GmmModel {
  readonly covariance: CovarianceType;
  readonly weights: number[];
  readonly means: number[][];
  /** Per-component variances (for `full`, the diagonal of each covariance). */
  readonly variances: number[][];
  /** Per-component covariance matrices; present only when `covariance` is `full`. */
  readonly covariances?: number[][][];
}

export interface GmmFitOptions {
  readonly k: number;
  readonly seed: number;
  /** Seeded EM runs; the one with the best log-likelihood wins (default 3). */
  readonly restarts?: number;
  /** EM iterations per run (default 100). */
  readonly maxIter?: number;
  /** Stop when the mean per-point log-likelihood changes by at most this (default 1e-4). */
  readonly tol?: number;
  /** Added to every variance; default 1e-3 × the data's mean per-dimension variance, at least 1e-9. */
  readonly reg?: number;
  /** Default `diagonal`. */
  readonly covariance?: CovarianceType;
}

export interface GmmFit {
  readonly model: GmmModel;
  /** Number of components actually fitted (k capped at the number of points). */
  readonly k: number;
  readonly logLikelihood: number;
  readonly iterations: number;
  readonly converged: boolean;
}

export interface GmmSelectOptions extends Omit<GmmFitOptions, 'k'> {
  /** Smallest k tried (default 1). */
  readonly kMin?: number;
  readonly kMax: number;
}

export interface GmmSelection {
  readonly model: GmmModel;
  readonly k: number;
  readonly bic: number;
  readonly logLikelihood: number;
  /** Every k tried, in increasing order. */
  readonly candidates: { k: number; bic: number; logLikelihood: number }[];
}

type Points = readonly (readonly number[])[];

const LLOYD_ITERATIONS = 10;
/** Components whose total responsibility falls below this are treated as empty. */
const EMPTY_MASS = 1e-8;
/** Weight floor, so log(weight) stays finite. */
const MIN_WEIGHT = 1e-12;

/** Check points are a non-empty, rectangular, finite matrix; returns the dimension. */
export function checkPoints(points: Points): number {
  if (!Array.isArray(points) || points.length === 0) {
    throw new ValidationError('cannot fit a Gaussian mixture to no points');
  }
  const first = points[0];
  if (!Array.isArray(first) || first.length === 0) {
    throw new ValidationError('points must be non-empty arrays of numbers');
  }
  const d = first.length;
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (!Array.isArray(p) || p.length !== d) {
      throw new ValidationError(`point ${i} has ${Array.isArray(p) ? p.length : 'no'} dimensions, expected ${d}`, {
        index: i,
      });
    }
    for (const v of p) {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new ValidationError(`point ${i} has a non-finite coordinate`, { index: i });
      }
    }
  }
  return d;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new ValidationError(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new ValidationError(`${name} must be a finite non-negative number, got ${String(v)}`);
  }
  return v;
}

/** Column means and (population) variances of the points. */
function moments(points: Points, d: number): { mean: number[]; variance: number[] } {
  const n = points.length;
  const mean = new Array<number>(d).fill(0);
  for (const p of points) for (let t = 0; t < d; t++) mean[t] = (mean[t] as number) + (p[t] as number);
  for (let t = 0; t < d; t++) mean[t] = (mean[t] as number) / n;
  const variance = new Array<number>(d).fill(0);
  for (const p of points) {
    for (let t = 0; t < d; t++) {
      const z = (p[t] as number) - (mean[t] as number);
      variance[t] = (variance[t] as number) + (z * z) / n;
    }
  }
  return { mean, variance };
}

/** The default regulariser: scale-aware so both raw and PCA-projected data get a sensible floor. */
export function defaultRegularisation(points: Points): number {
  const d = checkPoints(points);
  const { variance } = moments(points, d);
  const avg = variance.reduce((a, b) => a + b, 0) / d;
  return Math.max(1e-9, 1e-3 * avg);
}

interface Config {
  readonly maxIter: number;
  readonly tol: number;
  readonly reg: number;
  readonly covariance: CovarianceType;
  readonly globalVariance: readonly number[];
}

/** Prepared components plus log-weights, for repeated scoring. */
interface Prepared {
  readonly logWeights: Float64Array;
  readonly gaussians: PreparedGaussian[];
}

/** Cholesky of a covariance, adding growing jitter if rounding left it not positive definite. */
function robustCholesky(cov: number[][], reg: number): { cov: number[][]; chol: Float64Array } | null {
  let jitter = 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    const m = jitter === 0 ? cov : cov.map((row, i) => row.map((v, j) => (i === j ? v + jitter : v)));
    const chol = cholesky(m);
    if (chol) return { cov: m, chol };
    jitter = jitter === 0 ? Math.max(reg, 1e-12) : jitter * 10;
  }
  return null;
}

function prepare(model: GmmModel): Prepared {
  const k = model.weights.length;
  const logWeights = new Float64Array(k);
  const gaussians: PreparedGaussian[] = [];
  for (let j = 0; j < k; j++) {
    logWeights[j] = Math.log(Math.max(model.weights[j] as number, MIN_WEIGHT));
    const mean = model.means[j] as number[];
    const cov = model.covariances?.[j];
    const fact = model.covariance === 'full' && cov ? robustCholesky(cov, 1e-12) : null;
    gaussians.push(fact ? prepareFull(mean, fact.chol) : prepareDiagonal(mean, model.variances[j] as number[]));
  }
  return { logWeights, gaussians };
}

/** E-step: fill `resp` (n×k, row-major) and return the total log-likelihood. */
function eStep(p: Prepared, points: Points, resp: Float64Array | null): number {
  const k = p.gaussians.length;
  const lp = new Float64Array(k);
  let ll = 0;
  for (let i = 0; i < points.length; i++) {
    const x = points[i] as readonly number[];
    for (let j = 0; j < k; j++) lp[j] = (p.logWeights[j] as number) + logDensity(p.gaussians[j] as PreparedGaussian, x);
    const lse = logSumExp(lp);
    ll += lse;
    if (!resp) continue;
    if (Number.isFinite(lse)) {
      for (let j = 0; j < k; j++) resp[i * k + j] = Math.exp((lp[j] as number) - lse);
    } else {
      // Only reachable with coordinates so large their squares overflow: fall back to the priors.
      for (let j = 0; j < k; j++) resp[i * k + j] = Math.exp(p.logWeights[j] as number);
    }
  }
  return ll;
}

/** M-step from responsibilities; an empty component keeps `fallbackMeans[j]` with the global variance. */
function mStep(points: Points, resp: Float64Array, k: number, fallbackMeans: number[][], cfg: Config): GmmModel {
  const n = points.length;
  const d = (points[0] as readonly number[]).length;
  const weights: number[] = [];
  const means: number[][] = [];
  const variances: number[][] = [];
  const covariances: number[][][] = [];
  for (let j = 0; j < k; j++) {
    let nk = 0;
    for (let i = 0; i < n; i++) nk += resp[i * k + j] as number;
    weights.push(Math.max(nk / n, MIN_WEIGHT));
    if (nk < EMPTY_MASS) {
      const mean = [...(fallbackMeans[j] as number[])];
      const variance = cfg.globalVariance.map((v) => v + cfg.reg);
      means.push(mean);
      variances.push(variance);
      if (cfg.covariance === 'full') covariances.push(variance.map((v, a) => variance.map((_, b) => (a === b ? v : 0))));
      continue;
    }
    const mean = new Array<number>(d).fill(0);
    for (let i = 0; i < n; i++) {
      const r = resp[i * k + j] as number;
      if (r === 0) continue;
      const x = points[i] as readonly number[];
      for (let t = 0; t < d; t++) mean[t] = (mean[t] as number) + r * (x[t] as number);
    }
    for (let t = 0; t < d; t++) mean[t] = (mean[t] as number) / nk;
    means.push(mean);
    if (cfg.covariance === 'diagonal') {
      // Two-pass (centred) sums keep variances non-negative under rounding.
      const variance = new Array<number>(d).fill(0);
      for (let i = 0; i < n; i++) {
        const r = resp[i * k + j] as number;
        if (r === 0) continue;
        const x = points[i] as readonly number[];
        for (let t = 0; t < d; t++) {
          const z = (x[t] as number) - (mean[t] as number);
          variance[t] = (variance[t] as number) + r * z * z;
        }
      }
      variances.push(variance.map((v) => v / nk + cfg.reg));
    } else {
      const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
      const z = new Array<number>(d);
      for (let i = 0; i < n; i++) {
        const r = resp[i * k + j] as number;
        if (r === 0) continue;
        const x = points[i] as readonly number[];
        for (let t = 0; t < d; t++) z[t] = (x[t] as number) - (mean[t] as number);
        for (let a = 0; a < d; a++) {
          const row = cov[a] as number[];
          const za = r * (z[a] as number);
          for (let b = 0; b <= a; b++) row[b] = (row[b] as number) + za * (z[b] as number);
        }
      }
      for (let a = 0; a < d; a++) {
        const row = cov[a] as number[];
        for (let b = 0; b <= a; b++) {
          const v = (row[b] as number) / nk + (a === b ? cfg.reg : 0);
          row[b] = v;
          (cov[b] as number[])[a] = v;
        }
      }
      const fact = robustCholesky(cov, cfg.reg);
      const safe = fact ? fact.cov : cov.map((row, a) => row.map((v, b) => (a === b ? v : 0)));
      covariances.push(safe);
      variances.push(safe.map((row, a) => row[a] as number));
    }
  }
  const total = weights.reduce((a, b) => a + b, 0);
  return {
    covariance: cfg.covariance,
    weights: weights.map((w) => w / total),
    means,
    variances,
    ...(cfg.covariance === 'full' ? { covariances } : {}),
  };
}

/** One EM run from a k-means++ start. */
function emRun(points: Points, k: number, rng: Rng, cfg: Config): Omit<GmmFit, 'k'> {
  const n = points.length;
  const seeds = kmeansPlusPlus(points, k, rng);
  const { centres, labels } = lloyd(points, seeds, LLOYD_ITERATIONS);
  let resp = new Float64Array(n * k);
  for (let i = 0; i < n; i++) resp[i * k + (labels[i] as number)] = 1;
  let model = mStep(points, resp, k, centres, cfg);
  let ll = eStep(prepare(model), points, resp);
  let iterations = 0;
  let converged = false;
  while (iterations < cfg.maxIter) {
    iterations++;
    const next = mStep(points, resp, k, model.means, cfg);
    const nextResp = new Float64Array(n * k);
    const nextLl = eStep(prepare(next), points, nextResp);
    const delta = Math.abs(nextLl - ll);
    model = next;
    resp = nextResp;
    ll = nextLl;
    if (!(delta > cfg.tol * n)) {
      converged = true;
      break;
    }
  }
  return { model, logLikelihood: ll, iterations, converged };
}

function configFor(points: Points, d: number, opts: Omit<GmmFitOptions, 'k' | 'seed'>): Config {
  const covariance = opts.covariance ?? 'diagonal';
  if (covariance !== 'diagonal' && covariance !== 'full') {
    throw new ValidationError(`covariance must be 'diagonal' or 'full', got ${String(covariance)}`);
  }
  const reg = opts.reg ?? defaultRegularisation(points);
  if (typeof reg !== 'number' || !Number.isFinite(reg) || reg <= 0) {
    throw new ValidationError(`reg must be a finite positive number, got ${String(reg)}`);
  }
  return {
    maxIter: positiveInt('maxIter', opts.maxIter, 100),
    tol: nonNegative('tol', opts.tol, 1e-4),
    reg,
    covariance,
    globalVariance: moments(points, d).variance,
  };
}

function checkSeed(seed: number): void {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new ValidationError(`seed must be a finite number, got ${String(seed)}`);
}

function fitWith(points: Points, k: number, seed: number, restarts: number, cfg: Config): GmmFit {
  // k = 1 has a single optimum: restarts would only repeat it.
  const runs = k === 1 ? 1 : restarts;
  let best: Omit<GmmFit, 'k'> | null = null;
  for (let r = 0; r < runs; r++) {
    const rng = seededRng(seedOf(`gmm\u001f${seed}\u001f${k}\u001f${r}`));
    const run = emRun(points, k, rng, cfg);
    // Strictly better only, so the earliest restart wins ties and results are reproducible.
    if (best === null || run.logLikelihood > best.logLikelihood) best = run;
  }
  return { ...(best as Omit<GmmFit, 'k'>), k };
}

/** Fit a k-component mixture by EM with seeded restarts; k is capped at the number of points. */
export function fitGmm(points: Points, opts: GmmFitOptions): GmmFit {
  const d = checkPoints(points);
  checkSeed(opts.seed);
  const k = Math.min(positiveInt('k', opts.k, 1), points.length);
  const cfg = configFor(points, d, opts);
  return fitWith(points, k, opts.seed, positiveInt('restarts', opts.restarts, 3), cfg);
}

/** Fit every k in [kMin, kMax] (capped at the number of points) and keep the lowest BIC. */
export function selectGmm(points: Points, opts: GmmSelectOptions): GmmSelection {
  const d = checkPoints(points);
  checkSeed(opts.seed);
  const kMin = positiveInt('kMin', opts.kMin, 1);
  const kMaxAsked = positiveInt('kMax', opts.kMax, 1);
  if (kMaxAsked < kMin) throw new ValidationError(`kMax (${kMaxAsked}) must be at least kMin (${kMin})`);
  const kMax = Math.min(kMaxAsked, points.length);
  const from = Math.min(kMin, kMax);
  // One regulariser for every k, so their likelihoods are comparable.
  const cfg = configFor(points, d, opts);
  const restarts = positiveInt('restarts', opts.restarts, 3);
  const candidates: GmmSelection['candidates'] = [];
  let best: GmmSelection | null = null;
  for (let k = from; k <= kMax; k++) {
    const fit = fitWith(points, k, opts.seed, restarts, cfg);
    const score = bicOf(fit.model, fit.logLikelihood, points.length);
    candidates.push({ k, bic: score, logLikelihood: fit.logLikelihood });
    // Strictly lower only: the simpler model wins ties.
    if (best === null || score < best.bic) best = { model: fit.model, k, bic: score, logLikelihood: fit.logLikelihood, candidates };
  }
  return best as GmmSelection;
}

/** Number of free parameters: k-1 weights, k·d means, and k·d (diagonal) or k·d(d+1)/2 (full) covariances. */
export function parameterCount(model: GmmModel): number {
  const k = model.weights.length;
  const d = model.means[0]?.length ?? 0;
  const cov = model.covariance === 'full' ? (k * d * (d + 1)) / 2 : k * d;
  return k - 1 + k * d + cov;
}

function bicOf(model: GmmModel, ll: number, n: number): number {
  return -2 * ll + parameterCount(model) * Math.log(n);
}

function checkAgainst(model: GmmModel, points: Points): void {
  const d = checkPoints(points);
  const md = model.means[0]?.length ?? 0;
  if (d !== md) throw new ValidationError(`points have ${d} dimensions but the model has ${md}`);
}

/** Total log-likelihood of the points under the model. */
export function logLikelihood(model: GmmModel, points: Points): number {
  checkAgainst(model, points);
  return eStep(prepare(model), points, null);
}

/** Bayesian information criterion: -2·logL + p·ln n (lower is better). */
export function bic(model: GmmModel, points: Points): number {
  return bicOf(model, logLikelihood(model, points), points.length);
}

/** Posterior responsibilities of every component for each point (each row sums to 1). */
export function posteriors(model: GmmModel, points: Points): number[][] {
  checkAgainst(model, points);
  const k = model.weights.length;
  const resp = new Float64Array(points.length * k);
  eStep(prepare(model), points, resp);
  return points.map((_, i) => Array.from(resp.subarray(i * k, (i + 1) * k)));
}

/** Posterior responsibilities of every component for one point (sums to 1). */
export function posterior(model: GmmModel, x: readonly number[]): number[] {
  return posteriors(model, [x])[0] as number[];
}

function finiteMatrix(value: unknown, rows: number, cols: number): value is number[][] {
  return (
    Array.isArray(value) &&
    value.length === rows &&
    value.every((r) => Array.isArray(r) && r.length === cols && r.every((v) => typeof v === 'number' && Number.isFinite(v)))
  );
}

/** Check that a parsed JSON value is a usable GmmModel (e.g. read back from a ClusterModelFitted event). */
export function parseGmmModel(value: unknown): GmmModel {
  const fail = (why: string): never => {
    throw new ValidationError(`not a Gaussian mixture model: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const v = value as Record<string, unknown>;
  const covariance = v.covariance;
  if (covariance !== 'diagonal' && covariance !== 'full') return fail('unknown covariance type');
  const weights = v.weights;
  if (!Array.isArray(weights) || weights.length === 0) return fail('no weights');
  if (!weights.every((w) => typeof w === 'number' && Number.isFinite(w) && w >= 0)) return fail('bad weights');
  const k = weights.length;
  const d = Array.isArray(v.means) && Array.isArray(v.means[0]) ? (v.means[0] as unknown[]).length : 0;
  if (d === 0 || !finiteMatrix(v.means, k, d)) return fail('bad means');
  if (!finiteMatrix(v.variances, k, d) || !v.variances.every((r) => r.every((x) => x > 0))) return fail('bad variances');
  const model: GmmModel = { covariance, weights: weights as number[], means: v.means, variances: v.variances };
  if (covariance === 'diagonal') return model;
  const covs = v.covariances;
  if (!Array.isArray(covs) || covs.length !== k || !covs.every((c) => finiteMatrix(c, d, d))) return fail('bad covariances');
  return { ...model, covariances: covs as number[][][] };
}
