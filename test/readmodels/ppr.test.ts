import test from 'ava';
import { personalisedPageRank, type WeightedEdge } from '../../readmodels/retrieval/ppr.js';

const edge = (a: string, b: string, weight = 1): WeightedEdge => ({ a, b, weight });
const sum = (m: ReadonlyMap<string, number>): number => [...m.values()].reduce((x, y) => x + y, 0);
const score = (m: ReadonlyMap<string, number>, id: string): number => {
  const v = m.get(id);
  if (v === undefined) throw new Error(`no score for ${id}`);
  return v;
};

test('scores sum to 1 over a connected graph with a dangling seed', (t) => {
  const seeds = new Map([
    ['s', 2],
    ['lonely', 1],
  ]);
  const edges = [edge('s', 'a'), edge('a', 'b', 3), edge('b', 'c'), edge('c', 's', 0.5)];
  const ranks = personalisedPageRank(seeds, edges);
  t.is(Math.abs(sum(ranks) - 1) < 1e-12, true, `sum was ${sum(ranks)}`);
  t.deepEqual(new Set(ranks.keys()), new Set(['s', 'lonely', 'a', 'b', 'c']));
  for (const v of ranks.values()) t.true(v >= 0);
});

test('with no edges the mass stays on the seeds in proportion to their weights', (t) => {
  const ranks = personalisedPageRank(
    new Map([
      ['x', 3],
      ['y', 1],
    ]),
    [],
  );
  t.is(ranks.size, 2);
  t.true(Math.abs(score(ranks, 'x') - 0.75) < 1e-12);
  t.true(Math.abs(score(ranks, 'y') - 0.25) < 1e-12);
});

test('a neighbour of a seed scores above a node two hops away', (t) => {
  const ranks = personalisedPageRank(new Map([['s', 1]]), [edge('s', 'near'), edge('near', 'far')]);
  t.true(score(ranks, 'near') > score(ranks, 'far'));
  t.true(score(ranks, 'far') > 0);
  t.true(score(ranks, 's') > score(ranks, 'near'));
});

test('a node adjacent to two seeds scores above a node adjacent to one', (t) => {
  const seeds = new Map([
    ['s1', 1],
    ['s2', 1],
  ]);
  const ranks = personalisedPageRank(seeds, [edge('s1', 'both'), edge('s2', 'both'), edge('s1', 'one')]);
  t.true(score(ranks, 'both') > score(ranks, 'one'));
});

test('a heavier seed pulls more mass to its neighbour', (t) => {
  const seeds = new Map([
    ['heavy', 3],
    ['light', 1],
  ]);
  const ranks = personalisedPageRank(seeds, [edge('heavy', 'h'), edge('light', 'l')]);
  t.true(score(ranks, 'h') > score(ranks, 'l'));
});

test('nodes not connected to any seed score 0', (t) => {
  const ranks = personalisedPageRank(new Map([['s', 1]]), [edge('s', 'a'), edge('island1', 'island2', 5)]);
  t.is(score(ranks, 'island1'), 0);
  t.is(score(ranks, 'island2'), 0);
  t.true(score(ranks, 'a') > 0);
});

test('zero, negative, NaN and infinite seed weights are ignored', (t) => {
  const seeds = new Map([
    ['good', 2],
    ['zero', 0],
    ['neg', -1],
    ['nan', Number.NaN],
    ['inf', Number.POSITIVE_INFINITY],
  ]);
  const ranks = personalisedPageRank(seeds, []);
  t.deepEqual([...ranks.entries()], [['good', 1]]);
});

test('only non-positive or NaN seed weights give an empty map', (t) => {
  const seeds = new Map([
    ['zero', 0],
    ['neg', -2],
    ['nan', Number.NaN],
  ]);
  t.is(personalisedPageRank(seeds, [edge('zero', 'neg')]).size, 0);
});

test('zero, negative and NaN edge weights and self-loops are ignored', (t) => {
  const seeds = new Map([
    ['s', 1],
    ['t', 1],
  ]);
  const bad = [edge('s', 'z', 0), edge('s', 'n', -1), edge('s', 'q', Number.NaN), edge('s', 's', 10), edge('t', 't', 1)];
  const ranks = personalisedPageRank(seeds, bad);
  // Nothing usable: the same as no edges at all, and the ignored endpoints never appear.
  t.deepEqual([...ranks.entries()], [...personalisedPageRank(seeds, []).entries()]);
  t.false(ranks.has('z'));
  t.false(ranks.has('n'));
  t.false(ranks.has('q'));
  t.is(score(ranks, 's'), 0.5);
});

test('a self-loop next to real edges changes nothing', (t) => {
  const seeds = new Map([['s', 1]]);
  const edges = [edge('s', 'a'), edge('a', 'b', 2)];
  const plain = personalisedPageRank(seeds, edges);
  const looped = personalisedPageRank(seeds, [...edges, edge('a', 'a', 100), edge('s', 's', 7)]);
  t.deepEqual([...looped.entries()], [...plain.entries()]);
});

test('parallel edges add up like one heavier edge', (t) => {
  const seeds = new Map([['s', 1]]);
  const split = personalisedPageRank(seeds, [edge('s', 'a', 1), edge('a', 's', 1), edge('s', 'b', 2)]);
  const merged = personalisedPageRank(seeds, [edge('s', 'a', 2), edge('s', 'b', 2)]);
  t.true(Math.abs(score(split, 'a') - score(merged, 'a')) < 1e-12);
  t.true(Math.abs(score(split, 'a') - score(split, 'b')) < 1e-12);
});

test('damping out of [0, 1) throws RangeError', (t) => {
  const seeds = new Map([['s', 1]]);
  for (const damping of [-0.1, 1, 1.5, Number.NaN]) {
    t.throws(() => personalisedPageRank(seeds, [edge('s', 'a')], { damping }), { instanceOf: RangeError }, `damping ${damping}`);
  }
  t.notThrows(() => personalisedPageRank(seeds, [edge('s', 'a')], { damping: 0 }));
});

test('damping 0 keeps all mass on the seeds; 0 iterations return the restart vector', (t) => {
  const seeds = new Map([['s', 1]]);
  const edges = [edge('s', 'a')];
  const still = personalisedPageRank(seeds, edges, { damping: 0 });
  t.is(score(still, 's'), 1);
  t.is(score(still, 'a'), 0);
  const none = personalisedPageRank(seeds, edges, { iterations: 0, damping: 0.9 });
  t.is(score(none, 's'), 1);
  t.is(score(none, 'a'), 0);
});

test('higher damping spreads more mass away from the seed', (t) => {
  const seeds = new Map([['s', 1]]);
  const edges = [edge('s', 'a'), edge('a', 'b')];
  const local = personalisedPageRank(seeds, edges, { damping: 0.2 });
  const wide = personalisedPageRank(seeds, edges, { damping: 0.8 });
  t.true(score(wide, 'b') > score(local, 'b'));
  t.true(score(wide, 's') < score(local, 's'));
});

test('empty seeds give an empty map', (t) => {
  t.is(personalisedPageRank(new Map(), [edge('a', 'b')]).size, 0);
  t.is(personalisedPageRank(new Map(), []).size, 0);
});

test('is deterministic', (t) => {
  const seeds = new Map([
    ['s1', 0.7],
    ['s2', 0.3],
  ]);
  const edges = [edge('s1', 'a', 0.4), edge('a', 'b', 1.3), edge('b', 's2', 0.9), edge('s2', 'c', 2), edge('c', 'a', 0.1)];
  const first = personalisedPageRank(seeds, edges);
  const second = personalisedPageRank(seeds, edges);
  t.deepEqual([...second.entries()], [...first.entries()]);
});
