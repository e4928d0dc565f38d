/**
 * The batched graph writes the projector uses (infra/embedded/graph-batch.ts, a fix from the
 * performance work) must leave exactly the graph that the one-by-one port calls leave: same nodes,
 * properties and edges, for a sequence with shared entities, links to memories created before and
 * after them, rewrites, status changes and erasures.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { scopeOf } from '../../core/scope.js';
import { linkColumns, planGraphSteps, type GraphOp } from '../../infra/embedded/graph-batch.js';
import { LadybugMemoryGraph } from '../../infra/embedded/memory-graph.js';
import { graphMemoryFixture as mem } from '../helpers/fixtures.js';
import { applyOne, assertEqualOverRandomBatches, dumpGraph } from '../helpers/graph-dump.js';

const a = scopeOf('t1', 'alice');
const b = scopeOf('t2', 'bob');

/** Two batches of operations, as two projector fetches would deliver them. */
const BATCHES: GraphOp[][] = [
  [
    { op: 'upsert', scope: a, memory: mem('m1', ['Paris', 'Emma'], { triple: { subject: 'Alice', predicate: 'lives in', object: 'Paris' } }) },
    { op: 'upsert', scope: a, memory: mem('m2', ['paris', 'Airbus'], { sourceMessageIds: ['msg-m1', 'msg-x'] }) },
    // m3 does not exist yet: one by one, this link finds no target, so the batch must not create it.
    { op: 'link', scope: a, memoryId: 'm2', links: [{ memoryId: 'm1', weight: 0.5 }, { memoryId: 'm3', weight: 0.25 }] },
    { op: 'upsert', scope: a, memory: mem('m3', ['Emma'], { kind: 'preference' }) },
    { op: 'link', scope: a, memoryId: 'm3', links: [{ memoryId: 'm1', weight: 1 }, { memoryId: 'm2', weight: 0.75 }] },
    { op: 'link', scope: a, memoryId: 'm3', links: [{ memoryId: 'm1', weight: 0.125 }] },
    { op: 'upsert', scope: b, memory: mem('m9', ['Paris'], { triple: { subject: 'Bob', predicate: 'works at', object: 'Nokia' } }) },
    // A rewrite of a memory written earlier in the same batch takes the one-by-one path.
    { op: 'upsert', scope: a, memory: mem('m1', ['Berlin'], { text: 'moved', triple: { subject: 'Alice', predicate: 'lives in', object: 'Berlin' } }) },
    { op: 'status', scope: a, memoryId: 'm2', status: 'invalidated', validTo: 5_000, supersededAt: 6_000 },
    { op: 'upsert', scope: a, memory: mem('m4', ['Emma', 'Berlin']) },
    { op: 'link', scope: a, memoryId: 'm4', links: [{ memoryId: 'm3', weight: 0.5 }] },
  ],
  [
    { op: 'upsert', scope: a, memory: mem('m5', ['Emma']) },
    { op: 'remove', scope: a, memoryId: 'm3' },
    { op: 'link', scope: a, memoryId: 'm5', links: [{ memoryId: 'm3', weight: 0.5 }, { memoryId: 'm4', weight: 2 }] },
    { op: 'upsert', scope: a, memory: mem('m4', ['Emma'], { status: 'quarantined' }) },
    { op: 'upsert', scope: b, memory: mem('m10', ['Nokia', 'Oslo'], { sourceMessageIds: ['msg-m9'] }) },
  ],
];


test('a batch applied at once leaves the graph that one-by-one calls leave', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  try {
    const one = await LadybugMemoryGraph.open(path.join(root, 'one'));
    const bulk = await LadybugMemoryGraph.open(path.join(root, 'bulk'));
    for (const batch of BATCHES) {
      for (const op of batch) await applyOne(one, op);
      await bulk.applyOps(batch);
    }
    await one.close();
    await bulk.close();
    const expected = await dumpGraph(path.join(root, 'one'));
    t.true(expected.length > 20);
    t.true(expected.some((l) => l.includes('"m2"') && l.includes('"m1"') && l.startsWith('5 ')), 'links were written');
    t.deepEqual(await dumpGraph(path.join(root, 'bulk')), expected);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

/** Applies the batches one op at a time to one graph and batch by batch to another; returns both dumps. */
async function both(batches: readonly GraphOp[][]): Promise<[string[], string[]]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  try {
    const one = await LadybugMemoryGraph.open(path.join(root, 'one'));
    const bulk = await LadybugMemoryGraph.open(path.join(root, 'bulk'));
    for (const batch of batches) {
      for (const op of batch) await applyOne(one, op);
      await bulk.applyOps(batch);
    }
    await one.close();
    await bulk.close();
    return [await dumpGraph(path.join(root, 'one')), await dumpGraph(path.join(root, 'bulk'))];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

test('random operation sequences: batched equals one by one (property)', async (t) => {
  // One scope per memory id (ids are global keys), a few ids, entities and messages shared.
  const scopeOfId = (id: string) => (id.startsWith('q') ? b : a);
  await assertEqualOverRandomBatches(both, { ids: ['p0', 'p1', 'p2', 'p3', 'p4', 'q0'], scopeOfId, maxBatches: 2, numRuns: 8, seed: 7 });
  t.pass();
});

test('a memory from another scope is still refused in a batch', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  try {
    const g = await LadybugMemoryGraph.open(root);
    await g.applyOps([{ op: 'upsert', scope: a, memory: mem('shared', ['X']) }]);
    await t.throwsAsync(g.applyOps([{ op: 'upsert', scope: b, memory: mem('shared', ['Y']) }]), { message: /another scope/ });
    await g.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the plan closes a wave before a memory that a pending link names', (t) => {
  const ops: GraphOp[] = [
    { op: 'upsert', scope: a, memory: mem('x', []) },
    { op: 'link', scope: a, memoryId: 'x', links: [{ memoryId: 'y', weight: 1 }] },
    { op: 'upsert', scope: a, memory: mem('y', []) },
    { op: 'upsert', scope: a, memory: mem('z', []) },
    { op: 'status', scope: a, memoryId: 'z', status: 'archived', validTo: null, supersededAt: null },
    { op: 'upsert', scope: a, memory: mem('old', []) },
  ];
  const steps = planGraphSteps(ops, new Set(['old']));
  t.deepEqual(
    steps.map((s) => (s.kind === 'wave' ? `wave ${s.fresh.map((f) => f.memory.id).join(',')}|${s.links.length}` : `single ${s.op.op}`)),
    ['wave x|1', 'wave y,z|0', 'single status', 'single upsert'],
  );
});

test('waves with no mentions at all, sources to messages already there, and links across scopes equal one by one', async (t) => {
  const [expected, actual] = await both([
    [
      // No memory of this wave mentions an entity (a chunk of empty mention lists).
      { op: 'upsert', scope: a, memory: mem('n1', [], { sourceMessageIds: ['shared-msg'] }) },
      { op: 'upsert', scope: a, memory: mem('n2', [], { sourceMessageIds: [] }) },
      { op: 'upsert', scope: b, memory: mem('n9', [], { sourceMessageIds: ['b-msg'] }) },
    ],
    [
      // Sourced from a message created by the batch before; mentions mixed with none.
      { op: 'upsert', scope: a, memory: mem('n3', ['Oslo'], { sourceMessageIds: ['shared-msg', 'new-msg'] }) },
      { op: 'upsert', scope: a, memory: mem('n4', [], { sourceMessageIds: ['shared-msg'] }) },
      // n9 is bob's and n-missing does not exist: one by one, neither link is written.
      { op: 'link', scope: a, memoryId: 'n3', links: [{ memoryId: 'n1', weight: 0.5 }, { memoryId: 'n9', weight: 1 }, { memoryId: 'n-missing', weight: 1 }] },
      { op: 'link', scope: a, memoryId: 'n1', links: [{ memoryId: 'n4', weight: 2 }, { memoryId: 'n2', weight: 0.1 }] },
      { op: 'link', scope: b, memoryId: 'n9', links: [{ memoryId: 'n1', weight: 1 }] },
    ],
  ]);
  t.true(expected.some((l) => l.startsWith('4 ') && l.includes('"n4"') && l.includes('shared-msg')), 'sources to the shared message were written');
  t.true(expected.some((l) => l.startsWith('5 ') && l.includes('"n3"') && l.includes('"n1"')), 'a link within the scope was written');
  t.false(expected.some((l) => l.startsWith('5 ') && l.includes('"n9"')), 'no link crosses scopes');
  t.deepEqual(actual, expected);
});

test('links travel grouped by source, each target beside its weight', (t) => {
  const cols = linkColumns([
    { source: 's1', target: 'a', weight: 0.5 },
    { source: 's2', target: 'a', weight: 0.25 },
    { source: 's1', target: 'b', weight: 0.75 },
  ]);
  t.deepEqual(cols, { source: ['s1', 's2'], targets: [['a', 'b'], ['a']], weights: [[0.5, 0.75], [0.25]] });
  t.deepEqual(linkColumns([]), { source: [], targets: [], weights: [] });
});

test('packed columns and grouped links keep odd scope ids, times and weights exact (batched equals one by one)', async (t) => {
  // Scope ids a list parser might read as null, booleans or numbers; negative, zero and open times.
  const odd = scopeOf('null', 'NULL');
  const num = scopeOf('1e5', '-1');
  const tricky = { text: 'quote " back \\ comma, [brackets] {braces} \n' };
  const [expected, actual] = await both([
    [
      { op: 'upsert', scope: odd, memory: mem('o1', ['Null', 'true'], { ...tricky, validFrom: -5, recordedAt: 0, validTo: 7, supersededAt: 8, triple: { subject: 'Null', predicate: 'p, q', object: 'true' } }) },
      { op: 'upsert', scope: odd, memory: mem('o2', ['true'], { status: 'quarantined', sourceMessageIds: ['m, 1', 'null'] }) },
      { op: 'upsert', scope: odd, memory: mem('o3', [], { validFrom: 8_639_999_999_999_999 }) },
      { op: 'upsert', scope: num, memory: mem('n1', ['1e5'], { triple: { subject: '1e5', predicate: 'is', object: '-1' } }) },
      // Several targets per source, integer and fractional weights, a pair repeated (the last weight wins).
      { op: 'link', scope: odd, memoryId: 'o1', links: [{ memoryId: 'o2', weight: 0.1 }, { memoryId: 'o3', weight: 3 }, { memoryId: 'n1', weight: 1 }] },
      { op: 'link', scope: odd, memoryId: 'o2', links: [{ memoryId: 'o1', weight: 1e-300 }, { memoryId: 'o3', weight: -0.30000000000000004 }] },
      { op: 'link', scope: odd, memoryId: 'o1', links: [{ memoryId: 'o2', weight: 0.7 }] },
    ],
    [
      { op: 'link', scope: odd, memoryId: 'o3', links: [{ memoryId: 'o1', weight: 2 }, { memoryId: 'o2', weight: 0.5 }] },
      { op: 'link', scope: odd, memoryId: 'o1', links: [{ memoryId: 'o3', weight: 0.25 }] },
    ],
  ]);
  t.true(expected.some((l) => l.includes('"null"') && l.includes('"NULL"')), 'the odd scope was written');
  t.true(expected.some((l) => l.startsWith('5 ') && l.includes('"o1"') && l.includes('"o3"') && l.includes('0.25')), 'a re-weighted link was written');
  t.deepEqual(actual, expected);
});
