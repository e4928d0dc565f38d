import test from 'ava';
import { seededRng } from '../../core/random.js';
import { percentile, percentiles, perturb, rate, ratio } from '../../bench/perf/stats.js';

test('percentile is nearest-rank over the sorted sample', (t) => {
  const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  t.is(percentile(xs, 50), 5);
  t.is(percentile(xs, 95), 10);
  t.is(percentile(xs, 10), 1);
  t.is(percentile([], 95), 0);
  t.deepEqual(percentiles(Array.from({ length: 100 }, (_, i) => i + 1)), { p50: 50, p95: 95, p99: 99 });
});

test('rate and ratio round and guard against zero', (t) => {
  t.is(rate(100, 3), 33.3);
  t.is(rate(5, 0), 0);
  t.is(ratio(1, 3), 0.333);
  t.is(ratio(1, 0), 0);
});

test('perturb gives a deterministic float32 unit vector near its base', (t) => {
  const base = new Float32Array(512);
  for (let i = 0; i < 512; i++) base[i] = Math.sin(i + 1);
  const n = Math.hypot(...base);
  for (let i = 0; i < 512; i++) base[i] = (base[i] as number) / n;
  const a = perturb(base, seededRng(1), 0.35);
  const b = perturb(base, seededRng(1), 0.35);
  const c = perturb(base, seededRng(2), 0.35);
  t.deepEqual(a, b);
  t.notDeepEqual(a, c);
  t.true(Math.abs(Math.hypot(...a) - 1) < 1e-5);
  t.true(a.every((x) => Math.fround(x) === x));
  const cos = a.reduce((s, x, i) => s + x * (base[i] as number), 0);
  t.true(cos > 0.85 && cos < 0.99, `cosine ${cos}`);
});
