import test from 'ava';
import type { AssociationLink, SourceRef } from '../../core/model.js';
import type { MemoryState } from '../../core/ports.js';
import { expansionEdges, expansionScores } from '../../readmodels/retrieval/expansion.js';
import type { WeightedEdge } from '../../readmodels/retrieval/ppr.js';
import { src, stateFixture } from '../helpers/fixtures.js';

interface At {
  readonly offset: number;
  readonly session?: string;
  readonly topic?: string;
  readonly partition?: number;
}

/**
 * A memory state with one source per `at` (distinct sessions by default, so that fixtures do not link
 * by accident: the fixture's default source puts every memory on the same record).
 */
function mem(id: string, opts: { entities?: string[]; at?: At[]; links?: AssociationLink[] } = {}): MemoryState {
  const at = opts.at ?? [{ offset: 0, session: `solo-${id}` }];
  const sources: SourceRef[] = at.map((a) => ({
    ...src(`msg-${id}`),
    sessionId: a.session ?? 'sess',
    topic: a.topic ?? 'conversation-events',
    partition: a.partition ?? 0,
    offset: a.offset,
  }));
  const s = stateFixture(id, `memory ${id}`, 1_000, { entities: opts.entities ?? [], sources });
  return { ...s, links: opts.links ?? [] };
}

/** Edges as sorted "a|b weight" strings: undirected, order-free, duplicates kept. */
const norm = (edges: readonly WeightedEdge[]): string[] =>
  edges.map((e) => `${[e.a, e.b].sort().join('|')} ${e.weight.toFixed(6)}`).sort();
const pairs = (ids: readonly string[], weight: number): string[] => {
  const out: string[] = [];
  for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) out.push(`${[ids[i], ids[j]].sort().join('|')} ${weight.toFixed(6)}`);
  return out.sort();
};
const score = (m: ReadonlyMap<string, number>, id: string): number => {
  const v = m.get(id);
  if (v === undefined) throw new Error(`no score for ${id}`);
  return v;
};

test('isolated memories produce no edges', (t) => {
  t.deepEqual(expansionEdges([mem('a'), mem('b', { entities: ['Paris'] }), mem('c')]), []);
  t.deepEqual(expansionEdges([]), []);
});

test('association links become edges with their weights, also to memories outside the states', (t) => {
  const states = [
    mem('a', {
      links: [
        { memoryId: 'b', weight: 0.7 },
        { memoryId: 'ghost', weight: 0.3 },
      ],
    }),
    mem('b'),
  ];
  t.deepEqual(norm(expansionEdges(states)), ['a|b 0.700000', 'a|ghost 0.300000']);
});

test('an entity shared by a few memories links each pair with weight 1/(n-1), case-insensitively', (t) => {
  const states = [mem('a', { entities: ['Paris'] }), mem('b', { entities: ['paris'] }), mem('c', { entities: ['PARIS', 'Lyon'] }), mem('d', { entities: ['Rome'] })];
  t.deepEqual(norm(expansionEdges(states)), pairs(['a', 'b', 'c'], 1 / 2));
});

test('an entity repeated within one memory counts that memory once', (t) => {
  const states = [mem('a', { entities: ['Paris', 'paris'] }), mem('b', { entities: ['Paris'] })];
  t.deepEqual(norm(expansionEdges(states)), ['a|b 1.000000']);
});

test('an entity of 8 memories still links them; of 9 among 9 it is a hub and links none', (t) => {
  const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `m${i}`);
  const eight = ids(8).map((id) => mem(id, { entities: ['Hub'] }));
  t.deepEqual(norm(expansionEdges(eight)), pairs(ids(8), 1 / 7));
  const nine = ids(9).map((id) => mem(id, { entities: ['Hub'] }));
  t.deepEqual(expansionEdges(nine), []);
});

test('with many memories the hub threshold is a quarter of them', (t) => {
  // 40 states: threshold max(8, 10) = 10. An entity of 10 links, one of 11 does not.
  const filler = Array.from({ length: 40 }, (_, i) => `m${String(i).padStart(2, '0')}`);
  const build = (shared: number): MemoryState[] => filler.map((id, i) => mem(id, { entities: i < shared ? ['Alice'] : [] }));
  t.deepEqual(norm(expansionEdges(build(10))), pairs(filler.slice(0, 10), 1 / 9));
  t.deepEqual(expansionEdges(build(11)), []);
});

test('two memories from the same source record are linked with weight 1', (t) => {
  const states = [mem('turn', { at: [{ offset: 42, session: 's1' }] }), mem('fact', { at: [{ offset: 42, session: 's1' }] })];
  t.deepEqual(norm(expansionEdges(states)), ['fact|turn 1.000000']);
});

test('records one or two offsets apart in one session are linked with weight 0.5', (t) => {
  for (const gap of [1, 2]) {
    const states = [mem('x', { at: [{ offset: 10, session: 's1' }] }), mem('y', { at: [{ offset: 10 + gap, session: 's1' }] })];
    t.deepEqual(norm(expansionEdges(states)), ['x|y 0.500000'], `gap ${gap}`);
  }
});

test('records three apart, in other sessions, partitions or topics are not linked', (t) => {
  const base = mem('x', { at: [{ offset: 10, session: 's1' }] });
  t.deepEqual(expansionEdges([base, mem('y', { at: [{ offset: 13, session: 's1' }] })]), [], 'three apart');
  t.deepEqual(expansionEdges([base, mem('y', { at: [{ offset: 10, session: 's2' }] })]), [], 'other session, same offset');
  t.deepEqual(expansionEdges([base, mem('y', { at: [{ offset: 11, session: 's2' }] })]), [], 'other session, next offset');
  t.deepEqual(expansionEdges([base, mem('y', { at: [{ offset: 10, session: 's1', partition: 1 }] })]), [], 'other partition');
  t.deepEqual(expansionEdges([base, mem('y', { at: [{ offset: 10, session: 's1', topic: 'other' }] })]), [], 'other topic');
});

test('a memory is not linked to itself by its own neighbouring sources', (t) => {
  const states = [mem('session', { at: [10, 11, 12].map((offset) => ({ offset, session: 's1' })) })];
  t.deepEqual(expansionEdges(states), []);
});

test('the three kinds of edges add up', (t) => {
  const states = [
    mem('a', { entities: ['Bob'], at: [{ offset: 5, session: 's' }], links: [{ memoryId: 'z', weight: 0.2 }] }),
    mem('b', { entities: ['bob'], at: [{ offset: 5, session: 's' }] }),
  ];
  t.deepEqual(norm(expansionEdges(states)), ['a|b 1.000000', 'a|b 1.000000', 'a|z 0.200000']);
});

test('every pair of memories on one record is linked, whatever the order of the states', (t) => {
  const on = (id: string, offset: number): MemoryState => mem(id, { at: [{ offset, session: 's1' }] });
  const expected = [...pairs(['turn', 'f1', 'f2'], 1), 'f1|next 0.500000', 'f2|next 0.500000', 'next|turn 0.500000'].sort();
  const states = [on('turn', 10), on('f1', 10), on('f2', 10), on('next', 11)];
  t.deepEqual(norm(expansionEdges(states)), expected);
  t.deepEqual(norm(expansionEdges([...states].reverse())), expected);
});

test('expansion scores exclude the seeds and scale the best reached memory to 1', (t) => {
  const states = [
    mem('seed', { at: [{ offset: 7, session: 's' }] }),
    mem('same', { at: [{ offset: 7, session: 's' }], links: [{ memoryId: 'far', weight: 0.5 }] }),
    mem('far'),
  ];
  const out = expansionScores(new Map([['seed', 1]]), states);
  t.false(out.has('seed'));
  t.deepEqual([...out.keys()].sort(), ['far', 'same']);
  t.is(score(out, 'same'), 1);
  t.true(score(out, 'far') > 0 && score(out, 'far') < 1, `far scored ${score(out, 'far')}`);
  t.true(score(out, 'same') > score(out, 'far'), 'one hop over a same-record edge beats two hops');
});

test('expansion scores are empty without edges or without seeds', (t) => {
  const states = [mem('a'), mem('b'), mem('c', { entities: ['Solo'] })];
  t.is(expansionScores(new Map([['a', 1]]), states).size, 0);
  const linked = [mem('a', { links: [{ memoryId: 'b', weight: 1 }] }), mem('b')];
  t.is(expansionScores(new Map(), linked).size, 0);
});

test('expansion scores exclude every seed, even reachable ones', (t) => {
  const states = [mem('a', { entities: ['X'] }), mem('b', { entities: ['x'] }), mem('c', { entities: ['X'] })];
  const out = expansionScores(
    new Map([
      ['a', 2],
      ['b', 1],
    ]),
    states,
  );
  t.deepEqual([...out], [['c', 1]]);
});

test('expansion scores reach association targets outside the states', (t) => {
  const states = [mem('seed', { links: [{ memoryId: 'ghost', weight: 0.9 }] }), mem('other')];
  const out = expansionScores(new Map([['seed', 1]]), states);
  t.deepEqual([...out], [['ghost', 1]]);
});

test('expansion scores are in (0, 1] and deterministic', (t) => {
  const states = [
    mem('s1', { entities: ['Ann'], at: [{ offset: 1, session: 'x' }] }),
    mem('s2', { at: [{ offset: 20, session: 'x' }], links: [{ memoryId: 'q', weight: 0.4 }] }),
    mem('p', { entities: ['ann'], at: [{ offset: 2, session: 'x' }] }),
    mem('q', { at: [{ offset: 22, session: 'x' }] }),
    mem('r', { entities: ['Ann'] }),
  ];
  const seeds = new Map([
    ['s1', 1],
    ['s2', 0.5],
  ]);
  const out = expansionScores(seeds, states);
  t.deepEqual([...out.keys()].sort(), ['p', 'q', 'r']);
  for (const v of out.values()) t.true(v > 0 && v <= 1);
  t.is(Math.max(...out.values()), 1);
  t.deepEqual([...expansionScores(seeds, states)], [...out]);
});
