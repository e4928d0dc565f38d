import test from 'ava';
import { normalisedEntropy, routeByEntropy } from '../../readmodels/retrieval/router.js';

const close = (a: number, b: number, eps = 1e-9): boolean => Math.abs(a - b) < eps;
const weight = (m: ReadonlyMap<string, number>, g: string): number => {
  const v = m.get(g);
  if (v === undefined) throw new Error(`no weight for ${g}`);
  return v;
};

const PEAKED = [0.9, 0.5, 0.45, 0.4, 0.38];
const FLAT = [0.61, 0.6, 0.6, 0.59, 0.6];

test('a single score or none has entropy 0', (t) => {
  t.is(normalisedEntropy([0.7]), 0);
  t.is(normalisedEntropy([]), 0);
});

test('equal scores have entropy 1', (t) => {
  t.true(close(normalisedEntropy([0.4, 0.4]), 1));
  t.true(close(normalisedEntropy([0.2, 0.2, 0.2, 0.2, 0.2]), 1));
});

test('a peaked list has lower entropy than a flat one, both within [0, 1]', (t) => {
  const peaked = normalisedEntropy(PEAKED);
  const flat = normalisedEntropy(FLAT);
  t.true(peaked < flat, `peaked ${peaked} flat ${flat}`);
  for (const h of [peaked, flat]) t.true(h >= 0 && h <= 1 + 1e-12);
  // One score far above the rest: nearly all softmax mass on it.
  t.true(normalisedEntropy([1, 0, 0, 0]) < 0.01);
});

test('a higher temperature flattens the distribution', (t) => {
  t.true(normalisedEntropy(PEAKED, 1) > normalisedEntropy(PEAKED, 0.05));
});

test('entropy does not depend on score order or a shared offset', (t) => {
  const h = normalisedEntropy(PEAKED);
  t.true(close(normalisedEntropy([...PEAKED].reverse()), h));
  t.true(close(normalisedEntropy(PEAKED.map((s) => s + 10)), h));
});

test('a peaked granularity weighs more than a flat one', (t) => {
  const w = routeByEntropy(
    new Map([
      ['turn', PEAKED],
      ['session', FLAT],
    ]),
  );
  t.true(weight(w, 'turn') > weight(w, 'session'));
  t.true(weight(w, 'session') > 0);
});

test('weights of live granularities average 1; an empty list gets 0', (t) => {
  const w = routeByEntropy(
    new Map<string, readonly number[]>([
      ['turn', PEAKED],
      ['session', FLAT],
      ['fact', [0.8, 0.2, 0.1]],
      ['none', []],
    ]),
  );
  t.deepEqual([...w.keys()], ['turn', 'session', 'fact', 'none']);
  t.is(weight(w, 'none'), 0);
  const live = weight(w, 'turn') + weight(w, 'session') + weight(w, 'fact');
  t.true(close(live / 3, 1), `mean ${live / 3}`);
});

test('granularities with equal entropy get weight 1 each', (t) => {
  const w = routeByEntropy(
    new Map([
      ['a', [0.5, 0.5]],
      ['b', [0.3, 0.3, 0.3]],
    ]),
  );
  t.true(close(weight(w, 'a'), 1));
  t.true(close(weight(w, 'b'), 1));
});

test('a single live granularity gets weight 1', (t) => {
  const w = routeByEntropy(
    new Map<string, readonly number[]>([
      ['turn', FLAT],
      ['fact', []],
    ]),
  );
  t.true(close(weight(w, 'turn'), 1));
  t.is(weight(w, 'fact'), 0);
});

test('all-empty lists give all weights 0; no granularities give an empty map', (t) => {
  const w = routeByEntropy(
    new Map<string, readonly number[]>([
      ['turn', []],
      ['session', []],
    ]),
  );
  t.deepEqual([...w.entries()], [
    ['turn', 0],
    ['session', 0],
  ]);
  t.is(routeByEntropy(new Map()).size, 0);
});

test('only the top scores count', (t) => {
  // Past the first two, the tail is flat noise; with top 2 the two granularities look alike.
  const a = [0.9, 0.5, 0.5, 0.5, 0.5];
  const b = [0.9, 0.5, 0.89, 0.88, 0.87];
  const top2 = routeByEntropy(
    new Map([
      ['a', a],
      ['b', b],
    ]),
    { top: 2 },
  );
  t.true(close(weight(top2, 'a'), weight(top2, 'b')));
  const all = routeByEntropy(
    new Map([
      ['a', a],
      ['b', b],
    ]),
    { top: 5 },
  );
  t.true(weight(all, 'a') > weight(all, 'b'));
});

test('a larger sharpness evens the weights out', (t) => {
  const scores = new Map([
    ['turn', PEAKED],
    ['session', FLAT],
  ]);
  const sharp = routeByEntropy(scores, { sharpness: 0.05 });
  const soft = routeByEntropy(scores, { sharpness: 10 });
  const gap = (w: ReadonlyMap<string, number>): number => weight(w, 'turn') - weight(w, 'session');
  t.true(gap(sharp) > gap(soft));
  t.true(gap(soft) > 0);
});
