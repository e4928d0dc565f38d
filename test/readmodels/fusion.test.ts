import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { Granularity } from '../../core/model.js';
import { fuse, RRF_K, type FusionInput, type FusionOptions } from '../../readmodels/retrieval/fusion.js';

const cand = (id: string, cosine: number | undefined, keyword: number, granularity: Granularity = 'fact'): FusionInput => ({
  id,
  granularity,
  cosine,
  keyword,
});
const convex = (denseShare: number, weightOf: FusionOptions['weightOf'] = () => 1): FusionOptions => ({
  denseShare,
  rankAcrossGranularities: false,
  weightOf,
});
const rrf = (weightOf: FusionOptions['weightOf'] = () => 1, denseShare = 0.5): FusionOptions => ({
  denseShare,
  rankAcrossGranularities: true,
  weightOf,
});
const score = (m: ReadonlyMap<string, number>, id: string): number => {
  const v = m.get(id);
  if (v === undefined) throw new Error(`no score for ${id}`);
  return v;
};
const near = (t: ExecutionContext, actual: number, expected: number, what: string): void => {
  t.true(Math.abs(actual - expected) < 1e-12, `${what}: expected ${expected}, got ${actual}`);
};
/** Ids from best to worst (ties by id), so rank assertions read as lists. */
const order = (m: ReadonlyMap<string, number>): string[] =>
  [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);

// Cosine order a > b > c, keyword order c > b > a: the two signals disagree.
const disagreeing = [cand('a', 0.9, 1), cand('b', 0.5, 5), cand('c', 0.1, 10)];

test('RRF_K is the constant of Cormack et al.', (t) => {
  t.is(RRF_K, 60);
});

test('every candidate gets a score, and none for an empty input', (t) => {
  t.deepEqual([...fuse(disagreeing, convex(0.5)).keys()].sort(), ['a', 'b', 'c']);
  t.is(fuse(disagreeing, rrf()).size, 3);
  t.is(fuse([], convex(0.5)).size, 0);
  t.is(fuse([], rrf()).size, 0);
});

test('denseShare 1 ranks by cosine, min-max scaled', (t) => {
  const out = fuse(disagreeing, convex(1));
  t.deepEqual(order(out), ['a', 'b', 'c']);
  near(t, score(out, 'a'), 1, 'highest cosine');
  near(t, score(out, 'b'), 0.5, 'middle cosine');
  near(t, score(out, 'c'), 0, 'lowest cosine');
});

test('denseShare 0 ranks by keyword, scaled by the best keyword score', (t) => {
  const out = fuse(disagreeing, convex(0));
  t.deepEqual(order(out), ['c', 'b', 'a']);
  near(t, score(out, 'c'), 1, 'best keyword');
  near(t, score(out, 'b'), 0.5, 'half the best');
  // Scaled by the max only, not min-max: the lowest keyword score keeps its share.
  near(t, score(out, 'a'), 0.1, 'lowest keyword');
});

test('min-max scaling of cosines: lowest gets 0, highest 1, negatives included', (t) => {
  const out = fuse([cand('lo', -0.2, 0), cand('mid', 0.3, 0), cand('hi', 0.8, 0), cand('q', 0.05, 0)], convex(1));
  near(t, score(out, 'lo'), 0, 'lowest');
  near(t, score(out, 'hi'), 1, 'highest');
  near(t, score(out, 'mid'), 0.5, 'midpoint');
  near(t, score(out, 'q'), 0.25, 'quarter');
});

test('keyword scores are divided by the max, not min-max scaled', (t) => {
  const out = fuse([cand('x', undefined, 2), cand('y', undefined, 4), cand('z', undefined, 8)], convex(0));
  near(t, score(out, 'x'), 0.25, 'x');
  near(t, score(out, 'y'), 0.5, 'y');
  near(t, score(out, 'z'), 1, 'z');
});

test('an intermediate denseShare is the convex combination of both scaled scores', (t) => {
  const out = fuse(disagreeing, convex(0.3));
  near(t, score(out, 'a'), 0.3 * 1 + 0.7 * 0.1, 'a');
  near(t, score(out, 'b'), 0.3 * 0.5 + 0.7 * 0.5, 'b');
  near(t, score(out, 'c'), 0.3 * 0 + 0.7 * 1, 'c');
});

test('with dense retrieval off, keywords alone score whatever denseShare is', (t) => {
  const off = [cand('a', undefined, 3), cand('b', undefined, 6), cand('c', undefined, 0)];
  const expected = new Map([
    ['a', 0.5],
    ['b', 1],
    ['c', 0],
  ]);
  for (const share of [0, 0.4, 1]) {
    const out = fuse(off, convex(share));
    for (const [id, v] of expected) near(t, score(out, id), v, `${id} at denseShare ${share}`);
  }
});

test('with no keyword scores, dense alone scores whatever denseShare is', (t) => {
  const dense = [cand('a', 0.2, 0), cand('b', 0.6, 0), cand('c', 1.0, 0)];
  for (const share of [0, 0.4, 1]) {
    const out = fuse(dense, convex(share));
    near(t, score(out, 'a'), 0, `a at ${share}`);
    near(t, score(out, 'b'), 0.5, `b at ${share}`);
    near(t, score(out, 'c'), 1, `c at ${share}`);
  }
});

test('weightOf multiplies the convex score of each granularity', (t) => {
  const mixed = [cand('t', 0.9, 0, 'turn'), cand('f', 0.5, 0, 'fact'), cand('s', 0.1, 10, 'session')];
  const plain = fuse(mixed, convex(0.5));
  const weights: Record<Granularity, number> = { turn: 2, fact: 0.25, session: 3 };
  const weighted = fuse(mixed, convex(0.5, (g) => weights[g]));
  near(t, score(plain, 'f'), 0.25, 'f unweighted');
  for (const c of mixed) near(t, score(weighted, c.id), weights[c.granularity] * score(plain, c.id), c.id);
  // The weight can reorder: the session memory (0.5 unweighted) overtakes the turn (0.5 unweighted too).
  t.deepEqual(order(weighted), ['s', 't', 'f']);
});

test('across granularities: rank i of each granularity gets weightOf(g)/(RRF_K+i) whatever the score scales', (t) => {
  // Turns have huge keyword scores, facts tiny ones: within one convex scale the facts would all lose.
  const cands = [
    cand('t1', undefined, 1000, 'turn'),
    cand('t2', undefined, 900, 'turn'),
    cand('t3', undefined, 800, 'turn'),
    cand('f1', undefined, 2, 'fact'),
    cand('f2', undefined, 1, 'fact'),
  ];
  t.true(score(fuse(cands, convex(0)), 'f1') < score(fuse(cands, convex(0)), 't3'), 'the convex score favours turns');
  const out = fuse(cands, rrf());
  near(t, score(out, 't1'), 1 / (RRF_K + 1), 't1');
  near(t, score(out, 'f1'), 1 / (RRF_K + 1), 'f1');
  near(t, score(out, 't2'), 1 / (RRF_K + 2), 't2');
  near(t, score(out, 'f2'), 1 / (RRF_K + 2), 'f2');
  near(t, score(out, 't3'), 1 / (RRF_K + 3), 't3');
});

test('across granularities: the router weight scales each granularity', (t) => {
  const cands = [cand('t1', 0.9, 0, 'turn'), cand('t2', 0.8, 0, 'turn'), cand('s1', 0.1, 0, 'session'), cand('s2', 0.0, 0, 'session')];
  const out = fuse(cands, rrf((g) => (g === 'session' ? 3 : 0.5)));
  near(t, score(out, 's1'), 3 / (RRF_K + 1), 's1');
  near(t, score(out, 's2'), 3 / (RRF_K + 2), 's2');
  near(t, score(out, 't1'), 0.5 / (RRF_K + 1), 't1');
  near(t, score(out, 't2'), 0.5 / (RRF_K + 2), 't2');
  t.deepEqual(order(out), ['s1', 's2', 't1', 't2']);
});

test('across granularities: the rank inside a granularity follows the convex score', (t) => {
  // Same candidates, dense share 1 vs 0: the order inside the granularity flips.
  const byDense = fuse(disagreeing, rrf(() => 1, 1));
  const byKeyword = fuse(disagreeing, rrf(() => 1, 0));
  near(t, score(byDense, 'a'), 1 / (RRF_K + 1), 'a by dense');
  near(t, score(byDense, 'c'), 1 / (RRF_K + 3), 'c by dense');
  near(t, score(byKeyword, 'c'), 1 / (RRF_K + 1), 'c by keyword');
  near(t, score(byKeyword, 'a'), 1 / (RRF_K + 3), 'a by keyword');
});

test('across granularities: ties are broken by id, whatever the input order', (t) => {
  const tied = [cand('b', 0.5, 3), cand('c', 0.5, 3), cand('a', 0.5, 3)];
  for (const input of [tied, [...tied].reverse(), [tied[2], tied[0], tied[1]] as FusionInput[]]) {
    const out = fuse(input, rrf());
    near(t, score(out, 'a'), 1 / (RRF_K + 1), 'a');
    near(t, score(out, 'b'), 1 / (RRF_K + 2), 'b');
    near(t, score(out, 'c'), 1 / (RRF_K + 3), 'c');
  }
});

test('fusion is deterministic and independent of the input order', (t) => {
  const cands = [
    cand('t1', 0.7, 4, 'turn'),
    cand('t2', 0.7, 4, 'turn'),
    cand('f1', 0.2, 9, 'fact'),
    cand('f2', 0.9, 0, 'fact'),
    cand('s1', 0.4, 1, 'session'),
  ];
  const perms = [cands, [...cands].reverse(), [cands[3], cands[0], cands[4], cands[2], cands[1]] as FusionInput[]];
  for (const opts of [convex(0.6, (g) => (g === 'fact' ? 2 : 1)), rrf((g) => (g === 'turn' ? 1.5 : 1))]) {
    const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const first = sorted(fuse(cands, opts));
    for (const p of perms) t.deepEqual(sorted(fuse(p, opts)), first);
  }
});
