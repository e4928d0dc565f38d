import test from 'ava';
import fc from 'fast-check';
import { ValidationError } from '../../core/errors.js';
import { seededRng } from '../../core/random.js';
import type { Rng } from '../../core/random.js';
import {
  bic,
  fitGmm,
  logLikelihood,
  parameterCount,
  parseGmmModel,
  posterior,
  posteriors,
  selectGmm,
} from '../../activities/associate/gmm.js';
import type { GmmModel } from '../../activities/associate/gmm.js';
import { kmeansPlusPlus } from '../../activities/associate/kmeanspp.js';

/** Standard normal by Box-Muller from a seeded Rng. */
function gauss(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** n points drawn from a mixture with the given means, weights and standard deviation. */
function sampleMixture(seed: number, n: number, means: number[][], weights: number[], sd: number): number[][] {
  const rng = seededRng(seed);
  const counts = weights.map((w) => Math.round(w * n));
  const points: number[][] = [];
  means.forEach((m, j) => {
    for (let i = 0; i < (counts[j] as number); i++) points.push(m.map((v) => v + sd * gauss(rng)));
  });
  return points;
}

function allFinite(model: GmmModel): boolean {
  const nums = [
    ...model.weights,
    ...model.means.flat(),
    ...model.variances.flat(),
    ...(model.covariances ?? []).flat(2),
  ];
  return nums.every(Number.isFinite);
}

function dist(a: readonly number[], b: readonly number[]): number {
  return Math.sqrt(a.reduce((s, v, i) => s + (v - (b[i] as number)) ** 2, 0));
}

/** For each true mean, the fitted component closest to it. */
function match(model: GmmModel, trueMeans: number[][]): number[] {
  return trueMeans.map((m) => {
    let best = 0;
    model.means.forEach((fm, j) => {
      if (dist(fm, m) < dist(model.means[best] as number[], m)) best = j;
    });
    return best;
  });
}

const MEANS_2D = [
  [0, 0],
  [10, 0],
  [0, 10],
];
const WEIGHTS = [0.5, 0.3, 0.2];
const DATA_2D = sampleMixture(7, 400, MEANS_2D, WEIGHTS, 1);

test('EM recovers the means and weights of three separated 2-D Gaussians', (t) => {
  const fit = fitGmm(DATA_2D, { k: 3, seed: 1 });
  t.is(fit.k, 3);
  t.true(fit.converged);
  const m = match(fit.model, MEANS_2D);
  t.deepEqual([...new Set(m)].length, 3, 'each true mean has its own component');
  MEANS_2D.forEach((mean, i) => {
    const j = m[i] as number;
    t.true(dist(fit.model.means[j] as number[], mean) < 0.3, `mean ${i}`);
    t.true(Math.abs((fit.model.weights[j] as number) - (WEIGHTS[i] as number)) < 0.03, `weight ${i}`);
    for (const v of fit.model.variances[j] as number[]) t.true(v > 0.6 && v < 1.6, `variance ${i}`);
  });
  t.true(Math.abs(fit.model.weights.reduce((a, b) => a + b, 0) - 1) < 1e-12);
});

test('EM recovers a 5-D mixture, with diagonal and with full covariance', (t) => {
  const means = [
    [0, 0, 0, 0, 0],
    [6, 6, 0, 0, 0],
    [0, 0, 6, -6, 6],
  ];
  const data = sampleMixture(11, 300, means, WEIGHTS, 1);
  for (const covariance of ['diagonal', 'full'] as const) {
    const fit = fitGmm(data, { k: 3, seed: 3, covariance });
    const m = match(fit.model, means);
    t.is(new Set(m).size, 3, covariance);
    means.forEach((mean, i) => {
      t.true(dist(fit.model.means[m[i] as number] as number[], mean) < 0.5, `${covariance} mean ${i}`);
      t.true(Math.abs((fit.model.weights[m[i] as number] as number) - (WEIGHTS[i] as number)) < 0.03, `${covariance} weight ${i}`);
    });
    t.true(allFinite(fit.model));
    if (covariance === 'full') t.is(fit.model.covariances?.length, 3);
  }
});

test('full covariance captures correlation that a diagonal model cannot', (t) => {
  const rng = seededRng(5);
  const data = Array.from({ length: 300 }, () => {
    const a = gauss(rng);
    return [a, a + 0.1 * gauss(rng)];
  });
  const full = fitGmm(data, { k: 1, seed: 1, covariance: 'full' });
  const diag = fitGmm(data, { k: 1, seed: 1 });
  const cov = full.model.covariances?.[0] as number[][];
  t.true((cov[0]?.[1] as number) > 0.8);
  t.true(full.logLikelihood > diag.logLikelihood + 100);
  t.is(parameterCount(full.model), 0 + 2 + 3);
  t.is(parameterCount(diag.model), 0 + 2 + 2);
});

test('BIC picks the true number of components among 1..6', (t) => {
  const sel = selectGmm(DATA_2D, { kMin: 1, kMax: 6, seed: 2 });
  t.is(sel.k, 3);
  t.deepEqual(
    sel.candidates.map((c) => c.k),
    [1, 2, 3, 4, 5, 6],
  );
  t.is(Math.min(...sel.candidates.map((c) => c.bic)), sel.bic);
  t.true(sel.candidates.every((c) => Number.isFinite(c.bic) && Number.isFinite(c.logLikelihood)));

  const means5 = [
    [0, 0, 0, 0, 0],
    [8, 0, 0, 0, 0],
    [0, 8, 0, 0, 0],
    [0, 0, 8, 8, 0],
  ];
  const data5 = sampleMixture(13, 400, means5, [0.25, 0.25, 0.25, 0.25], 1);
  t.is(selectGmm(data5, { kMax: 6, seed: 2 }).k, 4);

  const single = sampleMixture(17, 200, [[3, -2]], [1], 2);
  t.is(selectGmm(single, { kMax: 6, seed: 2 }).k, 1);
});

test('bic and logLikelihood agree with the fit', (t) => {
  const fit = fitGmm(DATA_2D, { k: 3, seed: 1 });
  const ll = logLikelihood(fit.model, DATA_2D);
  t.true(Math.abs(ll - fit.logLikelihood) < 1e-6 * Math.abs(ll));
  const p = 3 - 1 + 3 * 2 + 3 * 2;
  t.is(parameterCount(fit.model), p);
  t.true(Math.abs(bic(fit.model, DATA_2D) - (-2 * ll + p * Math.log(DATA_2D.length))) < 1e-6);
});

test('the same seed gives identical results', (t) => {
  const a = selectGmm(DATA_2D, { kMax: 4, seed: 42 });
  const b = selectGmm(DATA_2D, { kMax: 4, seed: 42 });
  t.deepEqual(a, b);
  t.deepEqual(fitGmm(DATA_2D, { k: 5, seed: 9, covariance: 'full' }), fitGmm(DATA_2D, { k: 5, seed: 9, covariance: 'full' }));
  t.deepEqual(kmeansPlusPlus(DATA_2D, 4, seededRng(3)), kmeansPlusPlus(DATA_2D, 4, seededRng(3)));
});

test('degenerate inputs give finite models and no NaN', (t) => {
  const cases: { name: string; points: number[][]; k: number }[] = [
    { name: 'one point', points: [[1, 2, 3]], k: 3 },
    { name: 'identical points', points: Array.from({ length: 20 }, () => [0.5, -0.5]), k: 4 },
    { name: 'n < d', points: sampleMixture(3, 3, [new Array<number>(10).fill(0)], [1], 1), k: 2 },
    { name: 'k > n', points: [[0], [1], [5], [6]], k: 10 },
    { name: 'two distinct values, repeated', points: [...Array(10).fill([0, 0]), ...Array(10).fill([1, 1])] as number[][], k: 5 },
  ];
  for (const { name, points, k } of cases) {
    for (const covariance of ['diagonal', 'full'] as const) {
      const fit = fitGmm(points, { k, seed: 1, covariance });
      t.true(fit.k <= points.length && fit.k >= 1, name);
      t.true(allFinite(fit.model), `${name} ${covariance} model`);
      t.true(Number.isFinite(fit.logLikelihood), `${name} ${covariance} ll`);
      t.true(Number.isFinite(bic(fit.model, points)), `${name} ${covariance} bic`);
      for (const p of posteriors(fit.model, points)) {
        t.true(p.every(Number.isFinite), `${name} ${covariance} posterior`);
        t.true(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      }
      const sel = selectGmm(points, { kMin: 1, kMax: k, seed: 1, covariance });
      t.true(Number.isFinite(sel.bic) && allFinite(sel.model), `${name} ${covariance} selection`);
    }
  }
  t.is(fitGmm([[1, 2, 3]], { k: 3, seed: 1 }).k, 1);
  t.is(selectGmm(Array.from({ length: 20 }, () => [0.5, -0.5]), { kMax: 5, seed: 1 }).k, 1);
});

test('empty or malformed input is a ValidationError', (t) => {
  t.throws(() => fitGmm([], { k: 2, seed: 1 }), { instanceOf: ValidationError, message: /no points/ });
  t.throws(() => selectGmm([], { kMax: 3, seed: 1 }), { instanceOf: ValidationError, message: /no points/ });
  t.throws(() => fitGmm([[1, 2], [3]], { k: 1, seed: 1 }), { instanceOf: ValidationError, message: /dimensions/ });
  t.throws(() => fitGmm([[1, Number.NaN]], { k: 1, seed: 1 }), { instanceOf: ValidationError, message: /non-finite/ });
  t.throws(() => fitGmm([[]], { k: 1, seed: 1 }), { instanceOf: ValidationError });
  t.throws(() => fitGmm([[1]], { k: 0, seed: 1 }), { instanceOf: ValidationError, message: /k must/ });
  t.throws(() => fitGmm([[1]], { k: 1, seed: 1, reg: 0 }), { instanceOf: ValidationError, message: /reg/ });
  t.throws(() => selectGmm([[1]], { kMin: 3, kMax: 2, seed: 1 }), { instanceOf: ValidationError, message: /kMax/ });
  const model = fitGmm(DATA_2D, { k: 2, seed: 1 }).model;
  t.throws(() => logLikelihood(model, []), { instanceOf: ValidationError });
  t.throws(() => posterior(model, [1, 2, 3]), { instanceOf: ValidationError, message: /dimensions/ });
});

test('posterior sums to 1, even far from every component', (t) => {
  const { model } = fitGmm(DATA_2D, { k: 3, seed: 1 });
  fc.assert(
    fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: -1e6, max: 1e6, noNaN: true }), (x, y) => {
      const p = posterior(model, [x, y]);
      return p.length === 3 && p.every((v) => Number.isFinite(v) && v >= 0) && Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-9;
    }),
    { numRuns: 200, seed: 1 },
  );
  const near = posterior(model, [10, 0]);
  t.true(Math.max(...near) > 0.99);
});

test('random small inputs never produce NaN', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }).chain((d) =>
        fc.array(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: d, maxLength: d }), { minLength: 1, maxLength: 12 }),
      ),
      fc.integer({ min: 1, max: 5 }),
      (points, k) => {
        const fit = fitGmm(points, { k, seed: 1, restarts: 1, maxIter: 20 });
        return allFinite(fit.model) && Number.isFinite(fit.logLikelihood) && posteriors(fit.model, points).flat().every(Number.isFinite);
      },
    ),
    { numRuns: 60, seed: 7 },
  );
  t.pass();
});

test('models are plain JSON and survive a round trip', (t) => {
  for (const covariance of ['diagonal', 'full'] as const) {
    const { model } = fitGmm(DATA_2D, { k: 3, seed: 1, covariance });
    const back = parseGmmModel(JSON.parse(JSON.stringify(model)));
    t.deepEqual(back, model);
    t.deepEqual(posterior(back, [3, 4]), posterior(model, [3, 4]));
  }
  t.throws(() => parseGmmModel({ covariance: 'diagonal', weights: [1], means: [[0]], variances: [[0]] }), {
    instanceOf: ValidationError,
  });
  t.throws(() => parseGmmModel(null), { instanceOf: ValidationError });
});
