import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import lbug from '@ladybugdb/core';
import { StorageError, ValidationError } from '../../core/errors.js';
import type { Neighbourhood } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import { GRAPH_FILE, LadybugMemoryGraph } from '../../infra/embedded/memory-graph.js';
import { GRAPH_SCHEMA, OPEN_END, entityNormOf, scoreRelated } from '../../infra/graph/cypher.js';
import { HOSTILE_GRAPH_STRINGS, graphMemoryFixture as mem } from '../helpers/fixtures.js';

const A: Scope = { tenantId: 't1', userId: 'u1' };
const B: Scope = { tenantId: 't1', userId: 'u2' };
const C: Scope = { tenantId: 't2', userId: 'u1' };

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
}

/** A graph in a fresh directory, closed and removed when the test ends. */
async function fresh(t: { teardown(fn: () => Promise<void>): void }): Promise<{ graph: LadybugMemoryGraph; dir: string }> {
  const dir = tempDir();
  const held: { graph?: LadybugMemoryGraph } = {};
  t.teardown(async () => {
    await held.graph?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  held.graph = await LadybugMemoryGraph.open(dir);
  return { graph: held.graph, dir };
}

interface Snapshot {
  readonly counts: Record<string, number>;
  /** Every property of every node and edge, as JSON. */
  readonly dump: string;
}

/** Reads the raw database (the graph must be closed): counts per label/type and a dump of everything. */
async function snapshot(dir: string): Promise<Snapshot> {
  const db = new lbug.Database(path.join(dir, GRAPH_FILE), 64 * 1024 * 1024, true, false, 2 ** 32);
  const conn = new lbug.Connection(db);
  const all = async (q: string): Promise<Record<string, unknown>[]> => {
    const res = await conn.query(q);
    const results = Array.isArray(res) ? res : [res];
    const rows: Record<string, unknown>[] = [];
    for (const r of results) {
      rows.push(...(await r.getAll()));
      r.close();
    }
    return rows;
  };
  const counts: Record<string, number> = {};
  for (const label of Object.keys(GRAPH_SCHEMA.nodes)) {
    counts[label] = Number((await all(`MATCH (n:${label}) RETURN count(n) AS c`))[0]?.['c']);
  }
  for (const type of Object.keys(GRAPH_SCHEMA.rels)) {
    counts[type] = Number((await all(`MATCH ()-[r:${type}]->() RETURN count(r) AS c`))[0]?.['c']);
  }
  const rows = [...(await all('MATCH (n) RETURN n')), ...(await all('MATCH ()-[r]->() RETURN r'))];
  const dump = JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  await conn.close();
  await db.close();
  return { counts, dump };
}

function names(n: Neighbourhood): string[] {
  return n.nodes.map((x) => `${x.label}:${x.name}`).sort();
}

test('upserting twice leaves the same nodes and edges as once; re-upsert replaces mentions', async (t) => {
  const dirs = [tempDir(), tempDir()];
  t.teardown(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const memories = [
    mem('m1', ['Alice', 'Paris'], { triple: { subject: 'Alice', predicate: 'lives_in', object: 'Paris' } }),
    mem('m2', ['Paris', 'France'], { sourceMessageIds: ['msg-m1', 'msg-m2'] }),
  ];
  const snaps: Snapshot[] = [];
  for (const [i, dir] of dirs.entries()) {
    const g = await LadybugMemoryGraph.open(dir);
    for (let round = 0; round <= i; round++) {
      for (const m of memories) await g.upsertMemory(A, m);
      await g.link(A, 'm1', [{ memoryId: 'm2', weight: 0.25 }]);
    }
    await g.close();
    snaps.push(await snapshot(dir));
  }
  const [once, twice] = snaps as [Snapshot, Snapshot];
  t.deepEqual(twice.counts, once.counts);
  t.like(once.counts, { Memory: 2, Entity: 3, Message: 2, MENTIONS: 4, RELATES: 1, ASSOCIATED: 1, SOURCED_FROM: 3 });

  // Re-upsert with other entities and no triple: old mentions, the fact edge and orphans go.
  const dir = dirs[0] as string;
  const g = await LadybugMemoryGraph.open(dir);
  await g.upsertMemory(A, mem('m1', ['Bob', 'Paris'], { text: 'new text' }));
  t.deepEqual(await g.entities(A, 10), [
    { name: 'Paris', mentions: 2 },
    { name: 'Bob', mentions: 1 },
    { name: 'France', mentions: 1 },
  ]);
  await g.close();
  const after = await snapshot(dir);
  t.like(after.counts, { Memory: 2, Entity: 3, MENTIONS: 4, RELATES: 0, ASSOCIATED: 1 });
  t.false(after.dump.includes('Alice'));
  t.false(after.dump.includes('memory text m1'));
});

test('the same entity name under two users and two tenants stays separate', async (t) => {
  const { graph } = await fresh(t);
  await graph.upsertMemory(A, mem('a1', ['Alice', 'Rome'], { text: 'A secret' }));
  await graph.upsertMemory(B, mem('b1', ['Alice', 'Oslo'], { text: 'B secret' }));
  await graph.upsertMemory(C, mem('c1', ['Alice', 'Lima'], { text: 'C secret' }));
  await graph.upsertMemory(A, mem('a2', ['Rome']));
  await graph.upsertMemory(B, mem('b2', ['Oslo']));

  for (const [scope, city, text] of [
    [A, 'Rome', 'A secret'],
    [B, 'Oslo', 'B secret'],
    [C, 'Lima', 'C secret'],
  ] as const) {
    const n = await graph.neighbourhood(scope, 'alice', 3, true);
    const seen = names(n);
    t.true(seen.includes(`Entity:${city}`));
    t.true(seen.includes(`Memory:${text}`));
    t.is(seen.filter((s) => s.startsWith('Memory:') && s.endsWith('secret')).length, 1, 'no other secret leaks');
    t.deepEqual(
      (await graph.entities(scope, 10)).find((e) => e.name === 'Alice'),
      { name: 'Alice', mentions: 1 },
    );
  }
  t.deepEqual(await graph.related(A, ['a1', 'b1', 'c1'], 10), [{ id: 'a2', score: 1 }]);
  t.deepEqual(await graph.related(B, ['a1'], 10), []);

  // Writes from another scope do nothing; a memory id cannot move between scopes.
  await graph.setStatus(B, 'a1', 'invalidated', 5, 5);
  await graph.removeMemory(C, 'a1');
  await graph.link(B, 'a1', [{ memoryId: 'b1', weight: 1 }]);
  t.true(names(await graph.neighbourhood(A, 'alice', 1)).includes('Memory:A secret'));
  await t.throwsAsync(graph.upsertMemory(B, mem('a1', ['Alice'])), { instanceOf: ValidationError });
  t.true(names(await graph.neighbourhood(A, 'alice', 1)).includes('Memory:A secret'));
  t.false(names(await graph.neighbourhood(B, 'alice', 3, true)).includes('Memory:A secret'));

  await t.throwsAsync(graph.entities({ tenantId: 'bad tenant', userId: 'u1' }, 5), { instanceOf: ValidationError });
  await t.throwsAsync(graph.neighbourhood(A, 'alice', 4), { instanceOf: ValidationError });
  await t.throwsAsync(graph.neighbourhood(A, 'alice', 0), { instanceOf: ValidationError });
});

test('neighbourhood grows with depth and skips inactive memories unless asked', async (t) => {
  const { graph } = await fresh(t);
  await graph.upsertMemory(A, mem('m1', ['Alice', 'Acme'], { triple: { subject: 'Alice', predicate: 'works_at', object: 'Acme' } }));
  await graph.upsertMemory(A, mem('m2', ['Acme', 'Berlin']));
  await graph.upsertMemory(A, mem('m3', ['Berlin', 'Germany']));
  await graph.upsertMemory(A, mem('q1', ['Alice', 'Mallory'], { status: 'quarantined' }));

  t.deepEqual(names(await graph.neighbourhood(A, 'ALICE', 1)), ['Entity:Acme', 'Entity:Alice', 'Memory:memory text m1']);
  t.deepEqual(names(await graph.neighbourhood(A, 'alice', 2)), [
    'Entity:Acme',
    'Entity:Alice',
    'Memory:memory text m1',
    'Memory:memory text m2',
  ]);
  const deep = await graph.neighbourhood(A, 'alice', 3);
  t.true(names(deep).includes('Entity:Berlin'));
  t.false(names(deep).includes('Entity:Mallory'));
  t.deepEqual(
    deep.edges.filter((e) => e.type === 'RELATES'),
    [{ from: 'entity:alice', to: 'entity:acme', type: 'RELATES', predicate: 'works_at', memoryId: 'm1', validFrom: 1_000, validTo: null }],
  );
  t.false(names(await graph.neighbourhood(A, 'alice', 1, true)).includes('Entity:Mallory'), 'two hops away');
  const all = await graph.neighbourhood(A, 'alice', 2, true);
  t.true(names(all).includes('Entity:Mallory'));
  t.is(all.nodes.find((n) => n.id === 'q1')?.status, 'quarantined');
  t.deepEqual(await graph.neighbourhood(A, 'nobody', 2), { nodes: [], edges: [] });
});

test('setStatus updates the memory node and its fact edge validity', async (t) => {
  const { graph } = await fresh(t);
  await graph.upsertMemory(A, mem('m1', ['Alice', 'Paris'], { triple: { subject: 'Alice', predicate: 'lives_in', object: 'Paris' } }));
  await graph.upsertMemory(A, mem('m2', ['Paris']));

  await graph.setStatus(A, 'm1', 'invalidated', 5_000, 6_000);
  const active = await graph.neighbourhood(A, 'alice', 2);
  t.deepEqual(names(active), ['Entity:Alice'], 'neither the memory nor its fact edge is traversed');
  t.deepEqual(await graph.related(A, ['m2'], 5), []);
  t.deepEqual(await graph.entities(A, 5), [{ name: 'Paris', mentions: 1 }]);
  const all = await graph.neighbourhood(A, 'alice', 1, true);
  t.is(all.nodes.find((n) => n.id === 'm1')?.status, 'invalidated');
  t.like(all.edges.find((e) => e.type === 'RELATES'), { validFrom: 1_000, validTo: 5_000, memoryId: 'm1' });

  await graph.setStatus(A, 'm1', 'active', null, null);
  const restored = await graph.neighbourhood(A, 'alice', 1);
  t.is(restored.nodes.find((n) => n.id === 'm1')?.status, 'active');
  t.like(restored.edges.find((e) => e.type === 'RELATES'), { validTo: null });
  t.deepEqual(await graph.related(A, ['m2'], 5), [{ id: 'm1', score: 1 }]);
  await t.throwsAsync(graph.setStatus(A, 'm1', 'gone' as never, null, null), { instanceOf: ValidationError });
  await t.throwsAsync(graph.setStatus(A, 'm1', 'active', 1.5, null), { instanceOf: ValidationError });
});

test('removeMemory leaves no trace of its text, its edges or entities only it mentioned', async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const g = await LadybugMemoryGraph.open(dir);
  const secret = 'Zanzibar-7731 is my bank PIN';
  await g.upsertMemory(A, mem('m1', ['Zanzibar-7731', 'Bank'], {
    text: secret,
    triple: { subject: 'Zanzibar-7731', predicate: 'pin_of', object: 'Bank' },
    sourceMessageIds: ['secret-message'],
  }));
  await g.upsertMemory(A, mem('m2', ['Bank'], { sourceMessageIds: ['other-message'] }));
  await g.link(A, 'm2', [{ memoryId: 'm1', weight: 0.9 }]);
  await g.link(A, 'm1', [{ memoryId: 'm2', weight: 0.9 }]);
  await g.removeMemory(A, 'm1');
  await g.removeMemory(A, 'm1'); // erasure is idempotent
  t.deepEqual(await g.entities(A, 10), [{ name: 'Bank', mentions: 1 }]);
  await g.close();

  const snap = await snapshot(dir);
  t.like(snap.counts, { Memory: 1, Entity: 1, Message: 1, MENTIONS: 1, RELATES: 0, ASSOCIATED: 0, SOURCED_FROM: 1 });
  for (const trace of ['Zanzibar', 'PIN', 'pin_of', 'secret-message', '"m1"']) t.false(snap.dump.includes(trace), trace);
});

test('related() ranks by shared entities plus association weight, active only', async (t) => {
  const { graph } = await fresh(t);
  await graph.upsertMemory(A, mem('seed1', ['Alice', 'Paris', 'Louvre']));
  await graph.upsertMemory(A, mem('seed2', ['Bob']));
  await graph.upsertMemory(A, mem('two', ['Alice', 'Paris'])); // 2 shared
  await graph.upsertMemory(A, mem('one', ['Louvre', 'Art'])); // 1 shared
  await graph.upsertMemory(A, mem('assoc', ['Nothing'])); // association only
  await graph.upsertMemory(A, mem('both', ['Bob'])); // 1 shared + association
  await graph.upsertMemory(A, mem('stale', ['Alice', 'Paris', 'Louvre'], { status: 'invalidated' }));
  await graph.upsertMemory(A, mem('far', ['Art'])); // two hops away: not related
  await graph.link(A, 'seed1', [
    { memoryId: 'assoc', weight: 0.75 },
    { memoryId: 'both', weight: 1 },
    { memoryId: 'stale', weight: 1 },
    { memoryId: 'missing', weight: 1 },
  ]);
  await graph.link(A, 'assoc', [{ memoryId: 'seed1', weight: 0.5 }]); // weaker reverse edge: the max counts

  t.deepEqual(await graph.related(A, ['seed1', 'seed2'], 10), [
    { id: 'both', score: 2 },
    { id: 'two', score: 2 },
    { id: 'one', score: 1 },
    { id: 'assoc', score: 0.75 },
  ]);
  t.deepEqual(await graph.related(A, ['seed1', 'seed2'], 2), [
    { id: 'both', score: 2 },
    { id: 'two', score: 2 },
  ]);
  t.deepEqual(await graph.related(A, [], 5), []);
  t.deepEqual(await graph.related(A, ['seed1'], 0), []);
});

test('scoreRelated sums shared entities and the strongest weight per seed', (t) => {
  t.deepEqual(
    scoreRelated(
      [{ id: 'x', shared: 1 }],
      [
        { seed: 's1', id: 'x', weight: 0.2 },
        { seed: 's1', id: 'x', weight: 0.4 },
        { seed: 's2', id: 'x', weight: 0.1 },
        { seed: 's1', id: 'y', weight: 1.5 },
      ],
      5,
    ),
    [
      { id: 'x', score: 1.5 },
      { id: 'y', score: 1.5 },
    ],
  );
});

test('the graph and its checkpoints persist across reopen; close releases the file lock', async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const g = await LadybugMemoryGraph.open(dir);
  await g.upsertMemory(A, mem('m1', ['Alice', 'Paris'], { triple: { subject: 'Alice', predicate: 'lives_in', object: 'Paris' } }));
  await g.saveCheckpoint('memory-graph', 'memory-events', 3, 17);
  await t.throwsAsync(LadybugMemoryGraph.open(dir), { instanceOf: StorageError });
  const before = await g.neighbourhood(A, 'alice', 2);

  // Another process cannot open the database while it is open here, and can once it is closed.
  const file = path.join(dir, GRAPH_FILE);
  const probe = `const l = require('@ladybugdb/core');
const db = new l.Database(${JSON.stringify(file)}, 16 * 1024 * 1024, true, false, 2 ** 32);
new l.Connection(db).query('MATCH (m:Memory) RETURN count(m) AS c')
  .then((r) => r.getAll()).then((rows) => console.log('count=' + rows[0].c))
  .catch((e) => console.log('error=' + e.message));`;
  const other = (): string => execFileSync(process.execPath, ['-e', probe], { cwd: process.cwd() }).toString();
  t.regex(other(), /error=.*lock/i);
  await g.close();
  await g.close(); // idempotent
  await t.throwsAsync(g.entities(A, 5), { instanceOf: StorageError });
  t.regex(other(), /count=1/);

  const again = await LadybugMemoryGraph.open(dir);
  t.teardown(() => again.close());
  t.deepEqual(await again.neighbourhood(A, 'alice', 2), before);
  t.is(await again.checkpoint('memory-graph', 'memory-events', 3), 17);
});

test('checkpoints save, load, overwrite and reset per projector; clear() keeps them', async (t) => {
  const { graph } = await fresh(t);
  t.is(await graph.checkpoint('p1', 'memory-events', 0), 0);
  await graph.saveCheckpoint('p1', 'memory-events', 0, 10);
  await graph.saveCheckpoint('p1', 'memory-events', 1, 4);
  await graph.saveCheckpoint('p2', 'memory-events', 0, 99);
  await graph.saveCheckpoint('p1', 'memory-events', 0, 12);
  t.is(await graph.checkpoint('p1', 'memory-events', 0), 12);
  t.is(await graph.checkpoint('p1', 'memory-events', 1), 4);
  t.is(await graph.checkpoint('p1', 'other-topic', 0), 0);

  await graph.upsertMemory(A, mem('m1', ['Alice']));
  await graph.clear();
  t.deepEqual(await graph.entities(A, 5), []);
  t.is(await graph.checkpoint('p1', 'memory-events', 0), 12);

  await graph.reset('p1');
  t.is(await graph.checkpoint('p1', 'memory-events', 0), 0);
  t.is(await graph.checkpoint('p1', 'memory-events', 1), 0);
  t.is(await graph.checkpoint('p2', 'memory-events', 0), 99);
  await t.throwsAsync(graph.saveCheckpoint('p1', 'memory-events', 0, -1), { instanceOf: ValidationError });
});

test('hostile strings are stored verbatim and break nothing', async (t) => {
  const { graph } = await fresh(t);
  const hostile = HOSTILE_GRAPH_STRINGS;
  await graph.upsertMemory(A, mem('keep', ['Anchor']));
  await graph.upsertMemory(B, mem('other', [hostile[3] as string]));
  for (const [i, name] of hostile.entries()) {
    await graph.upsertMemory(A, mem(`h${i}`, [name, 'Anchor'], {
      text: `${name} // text ${i}`,
      triple: { subject: name, predicate: `pred ${name}`, object: 'Anchor' },
      sourceMessageIds: [name],
    }));
  }
  // Hostile ids and entity queries are plain data too.
  await graph.setStatus(A, "x' OR 1=1 //", 'invalidated', 1, 1);
  await graph.removeMemory(A, "') DETACH DELETE m //");

  const listed = await graph.entities(A, 100);
  t.deepEqual(listed.find((e) => e.name === 'Anchor'), { name: 'Anchor', mentions: hostile.length + 1 });
  for (const name of hostile) {
    t.deepEqual(listed.find((e) => e.name === name), { name, mentions: 1 }, name);
    const n = await graph.neighbourhood(A, name, 1);
    t.true(n.nodes.some((x) => x.label === 'Entity' && x.name === name), name);
    t.true(n.nodes.some((x) => x.label === 'Memory' && x.name === `${name} // text ${hostile.indexOf(name)}`), name);
    t.true(n.edges.some((e) => e.type === 'RELATES' && e.predicate === `pred ${name}`), name);
    t.is(n.nodes.find((x) => x.label === 'Entity' && x.name === name)?.id, `entity:${entityNormOf(name)}`);
  }
  t.is((await graph.related(A, ['keep'], 100)).length, hostile.length);
  t.deepEqual(await graph.entities(B, 5), [{ name: hostile[3] as string, mentions: 1 }]);
});

test('links accept mixed integer and fractional weights and skip self-links', async (t) => {
  const { graph } = await fresh(t);
  for (const id of ['a', 'b', 'c', 'd']) await graph.upsertMemory(A, mem(id, [`E-${id}`]));
  await graph.link(A, 'a', [
    { memoryId: 'b', weight: 1 },
    { memoryId: 'c', weight: 0.5 },
    { memoryId: 'd', weight: 2 },
    { memoryId: 'a', weight: 1 },
  ]);
  await graph.link(A, 'a', [{ memoryId: 'c', weight: 0.25 }]);
  t.deepEqual(await graph.related(A, ['a'], 10), [
    { id: 'd', score: 2 },
    { id: 'b', score: 1 },
    { id: 'c', score: 0.25 },
  ]);
  await t.throwsAsync(graph.link(A, 'a', [{ memoryId: 'b', weight: Number.NaN }]), { instanceOf: ValidationError });
});

test('open ends are stored as a far-future integer and come back as null', async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const g = await LadybugMemoryGraph.open(dir);
  await g.upsertMemory(A, mem('m1', ['X', 'Y'], { triple: { subject: 'X', predicate: 'p', object: 'Y' } }));
  t.like((await g.neighbourhood(A, 'x', 1)).edges.find((e) => e.type === 'RELATES'), { validTo: null });
  await g.close();
  t.true((await snapshot(dir)).dump.includes(String(OPEN_END)));
});

test('concurrent calls on one graph are serialised into separate transactions', async (t) => {
  const { graph } = await fresh(t);
  const writes = Array.from({ length: 12 }, (_, i) => graph.upsertMemory(A, mem(`c${i}`, ['Shared', `Own ${i}`])));
  const failing = graph.upsertMemory(A, mem('bad', ['X'], { validFrom: 0.5 }));
  const reads = [graph.entities(A, 100), graph.related(A, ['c0'], 100)];
  await Promise.all(writes);
  await t.throwsAsync(failing, { instanceOf: ValidationError });
  await Promise.all(reads);
  t.deepEqual((await graph.entities(A, 1))[0], { name: 'Shared', mentions: 12 });
  t.is((await graph.related(A, ['c0'], 100)).length, 11);
});

test("compaction works in a directory whose path holds a quote (Cypher string literal)", async (t) => {
  const root = tempDir();
  // Not a backslash: LadybugDB's own IMPORT script (0.19) does not escape one.
  const dir = path.join(root, "it's a dir");
  try {
    const graph = await LadybugMemoryGraph.open(dir);
    await graph.upsertMemory(A, mem('m1', ['Paris']));
    await graph.upsertMemory(A, mem('m2', ['Oslo']));
    await graph.removeMemory(A, 'm2');
    await graph.compact();
    t.deepEqual((await graph.entities(A, 10)).map((e) => e.name), ['Paris']);
    await graph.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
