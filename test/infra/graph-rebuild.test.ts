/**
 * A rebuild's graph writes: with the graph's nodes followed in memory (`beginRebuild`, no lookups
 * to tell new nodes from old ones) batches must leave exactly the graph that one-by-one calls
 * leave, including rewrites and erasures that create or orphan entities and messages; the graph
 * worker process (GraphWorkerClient) must do the same and report errors as the same classes; and
 * `lend` must hand the database to another opener and take it back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ValidationError } from '../../core/errors.js';
import type { GraphOp } from '../../core/ports.js';
import { scopeOf } from '../../core/scope.js';
import { GraphWorkerClient, reviveWorkerError } from '../../infra/embedded/graph-worker-client.js';
import { LadybugMemoryGraph } from '../../infra/embedded/memory-graph.js';
import { graphMemoryFixture as mem } from '../helpers/fixtures.js';
import { applyOne, assertEqualOverRandomBatches, dumpGraph } from '../helpers/graph-dump.js';

const a = scopeOf('t1', 'alice');
const b = scopeOf('t2', 'bob');

/** Batches with shared entities and messages, rewrites that drop some, and erasures that orphan others. */
const BATCHES: GraphOp[][] = [
  [
    { op: 'upsert', scope: a, memory: mem('m1', ['Paris', 'Emma'], { triple: { subject: 'Alice', predicate: 'lives in', object: 'Paris' } }) },
    { op: 'upsert', scope: a, memory: mem('m2', ['paris', 'Airbus'], { sourceMessageIds: ['msg-m1', 'msg-x'] }) },
    { op: 'link', scope: a, memoryId: 'm2', links: [{ memoryId: 'm1', weight: 0.5 }, { memoryId: 'm3', weight: 0.25 }] },
    { op: 'upsert', scope: a, memory: mem('m3', ['Emma'], { kind: 'preference' }) },
    { op: 'link', scope: a, memoryId: 'm3', links: [{ memoryId: 'm1', weight: 1 }, { memoryId: 'm2', weight: 0.75 }] },
    { op: 'upsert', scope: b, memory: mem('m9', ['Paris'], { triple: { subject: 'Bob', predicate: 'works at', object: 'Nokia' } }) },
    // A rewrite that drops Paris and Emma from m1 (Emma stays through m3) and adds Berlin.
    { op: 'upsert', scope: a, memory: mem('m1', ['Berlin'], { text: 'moved', sourceMessageIds: ['msg-new'], triple: { subject: 'Alice', predicate: 'lives in', object: 'Berlin' } }) },
    { op: 'status', scope: a, memoryId: 'm2', status: 'invalidated', validTo: 5_000, supersededAt: 6_000 },
  ],
  [
    // Erasing m3 orphans nothing it shares with m4; erasing m2 orphans Airbus and msg-x.
    { op: 'upsert', scope: a, memory: mem('m4', ['Emma', 'Airbus'], { sourceMessageIds: ['msg-x'] }) },
    { op: 'remove', scope: a, memoryId: 'm3' },
    { op: 'remove', scope: a, memoryId: 'm2' },
    // Entities and messages orphaned above come back with a new memory (created again, not assumed there).
    { op: 'upsert', scope: a, memory: mem('m5', ['Paris', 'Airbus'], { sourceMessageIds: ['msg-m1', 'msg-x'] }) },
    { op: 'link', scope: a, memoryId: 'm5', links: [{ memoryId: 'm3', weight: 0.5 }, { memoryId: 'm4', weight: 2 }, { memoryId: 'm1', weight: 1 }] },
    { op: 'remove', scope: a, memoryId: 'm4' },
    { op: 'upsert', scope: a, memory: mem('m6', ['Emma'], { sourceMessageIds: ['msg-m3'] }) },
    { op: 'remove', scope: a, memoryId: 'never-written' },
  ],
];


/** Applies every operation alone (the reference). */
async function oneByOne(g: LadybugMemoryGraph, batches: readonly GraphOp[][]): Promise<void> {
  for (const batch of batches) {
    for (const op of batch) await applyOne(g, op);
  }
}

/** The dumps of: one by one; batches in rebuild mode from `prefix` applied first (loaded knowledge) or from empty. */
async function compare(batches: readonly GraphOp[][], prefix: readonly GraphOp[][] = []): Promise<[string[], string[]]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  try {
    const one = await LadybugMemoryGraph.open(path.join(root, 'one'));
    const bulk = await LadybugMemoryGraph.open(path.join(root, 'bulk'));
    await oneByOne(one, [...prefix, ...batches]);
    await oneByOne(bulk, prefix);
    await bulk.beginRebuild();
    for (const batch of batches) await bulk.applyOps(batch);
    bulk.endRebuild();
    await one.close();
    await bulk.close();
    return [await dumpGraph(path.join(root, 'one')), await dumpGraph(path.join(root, 'bulk'))];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

test('rebuild mode: batches from an empty graph leave the graph one-by-one calls leave', async (t) => {
  const [expected, actual] = await compare(BATCHES);
  t.true(expected.some((l) => l.startsWith('1 ') && l.includes('airbus')), 'Airbus came back after being orphaned');
  t.false(expected.some((l) => l.includes('"t1|alice|m3"') || l.includes('"m3"')), 'm3 is gone');
  t.deepEqual(actual, expected);
});

test('rebuild mode: knowledge read from a graph that already holds nodes', async (t) => {
  const [expected, actual] = await compare(BATCHES.slice(1), BATCHES.slice(0, 1));
  t.true(expected.length > 10);
  t.deepEqual(actual, expected);
});

test('rebuild mode: random operation sequences equal one by one (property)', async (t) => {
  const scopeOfId = (id: string) => (id.startsWith('q') ? b : a);
  await assertEqualOverRandomBatches(compare, { ids: ['p0', 'p1', 'p2', 'p3', 'q0'], scopeOfId, maxBatches: 3, numRuns: 6, seed: 11 });
  t.pass();
});

test('rebuild mode: a refused batch rolls back and later batches still equal one by one', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  try {
    const g = await LadybugMemoryGraph.open(path.join(root, 'bulk'));
    await g.beginRebuild();
    await g.applyOps([{ op: 'upsert', scope: a, memory: mem('shared', ['X']) }]);
    // New entity Y and message first, then the refusal: the whole batch rolls back.
    const refused: GraphOp[] = [
      { op: 'upsert', scope: a, memory: mem('fresh', ['Y'], { sourceMessageIds: ['msg-y'] }) },
      { op: 'upsert', scope: b, memory: mem('shared', ['Z']) },
    ];
    await t.throwsAsync(g.applyOps(refused), { instanceOf: ValidationError, message: /another scope/ });
    const after: GraphOp[] = [{ op: 'upsert', scope: a, memory: mem('later', ['Y'], { sourceMessageIds: ['msg-y'] }) }];
    await g.applyOps(after);
    await g.close();
    const one = await LadybugMemoryGraph.open(path.join(root, 'one'));
    await oneByOne(one, [[{ op: 'upsert', scope: a, memory: mem('shared', ['X']) }], after]);
    await one.close();
    t.deepEqual(await dumpGraph(path.join(root, 'bulk')), await dumpGraph(path.join(root, 'one')));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the graph worker process writes what one-by-one calls write, keeps checkpoints, and reports errors as their classes', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  try {
    const main = await LadybugMemoryGraph.open(path.join(root, 'worker'));
    await main.saveCheckpoint('memory-graph', 'memory-events', 0, 7);
    // While lent, the main thread's calls wait; the worker opens the same directory.
    const lent = await main.lend(async (dir) => {
      const w = await GraphWorkerClient.start(dir);
      try {
        t.is(await w.checkpoint('memory-graph', 'memory-events', 0), 7);
        await w.clear();
        await w.reset('memory-graph');
        t.is(await w.checkpoint('memory-graph', 'memory-events', 0), 0);
        for (const batch of BATCHES) await w.applyOps(batch);
        await w.saveCheckpoint('memory-graph', 'memory-events', 0, 42);
        const err = await t.throwsAsync(w.upsertMemory(b, mem('m1', ['Q'])), { instanceOf: ValidationError, message: /another scope/ });
        t.false(err?.retriable);
        // The worker goes on after a refused batch.
        await w.setStatus(a, 'm1', 'archived', null, null);
      } finally {
        await w.close();
      }
      return dir;
    });
    t.is(lent, path.join(root, 'worker'));
    t.is(await main.checkpoint('memory-graph', 'memory-events', 0), 42, 'the main thread reads what the worker wrote');
    await main.close();
    const one = await LadybugMemoryGraph.open(path.join(root, 'one'));
    await oneByOne(one, [...BATCHES, [{ op: 'status', scope: a, memoryId: 'm1', status: 'archived', validTo: null, supersededAt: null }]]);
    await one.close();
    t.deepEqual(await dumpGraph(path.join(root, 'worker')), await dumpGraph(path.join(root, 'one')));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('worker errors come back as the error classes they were', (t) => {
  const v = reviveWorkerError({ name: 'ValidationError', message: 'bad', code: 'validation', retriable: false, details: { field: 'x' } });
  t.true(v instanceof ValidationError);
  t.deepEqual((v as ValidationError).details, { field: 'x' });
  const s = reviveWorkerError({ name: 'StorageError', message: 'disk', code: 'storage', retriable: true });
  t.is((s as ValidationError).retriable, true);
  t.is(s.name, 'StorageError');
  const plain = reviveWorkerError({ name: 'TypeError', message: 'oops' });
  t.false('retriable' in plain);
  t.is(plain.message, 'oops');
});
