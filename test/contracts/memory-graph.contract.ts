/**
 * The MemoryGraph + CheckpointStore contract, held by every graph adapter: LadybugDB from
 * test/infra/memory-graph-contract.test.ts, Neo4j from test/stack/neo4j.stack.test.ts.
 * Cases see the graph only through the ports, plus optional raw counts for edges no port returns.
 * On a shared server every id a case writes (tenants, memory ids, projectors) carries the subject's
 * namespace, so that runs and cases never meet.
 */
import type { ExecutionContext } from 'ava';
import { ValidationError } from '../../core/errors.js';
import type { CheckpointStore, GraphEdge, GraphMemory, MemoryGraph, Neighbourhood } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import { HOSTILE_GRAPH_STRINGS, graphMemoryFixture as mem } from '../helpers/fixtures.js';

/** The graph surface the GraphProjection needs. */
export type ContractGraph = MemoryGraph & CheckpointStore & { clear(): Promise<void>; reset(projector: string): Promise<void> };

/** Nodes per label and edges per type (of the subject's namespace). */
export type GraphCounts = Readonly<
  Record<'Memory' | 'Entity' | 'Message' | 'MENTIONS' | 'RELATES' | 'ASSOCIATED' | 'SOURCED_FROM', number>
>;

/** The counts of every label and edge type, queried one after another (a connection may run one at a time). */
export async function graphCountsOf(
  node: (label: string) => Promise<number>,
  rel: (type: string) => Promise<number>,
): Promise<GraphCounts> {
  return {
    Memory: await node('Memory'),
    Entity: await node('Entity'),
    Message: await node('Message'),
    MENTIONS: await rel('MENTIONS'),
    RELATES: await rel('RELATES'),
    ASSOCIATED: await rel('ASSOCIATED'),
    SOURCED_FROM: await rel('SOURCED_FROM'),
  };
}

/** One opened graph under test. */
export interface MemoryGraphSubject {
  readonly graph: ContractGraph;
  /** Closes the graph and removes what the case wrote. */
  close(): Promise<void>;
  /** Prefix of every tenant id, memory id and projector name a case writes ('' for a private store). */
  readonly namespace?: string;
  /** Raw counts within the namespace, to check edges the ports never return (provenance). */
  counts?(): Promise<GraphCounts>;
}

/** What a subject allows the contract to do. */
export interface MemoryGraphContractOptions {
  /** Whether `clear()` may run (it empties the whole database). Default true. */
  readonly clear?: boolean;
}

/** How cases are registered: ava's `test`, `test.serial` or `test.skip`. */
export type RegisterTest = (title: string, implementation: (t: ExecutionContext) => Promise<void>) => void;

interface Fixture {
  readonly graph: ContractGraph;
  readonly subject: MemoryGraphSubject;
  /** A namespaced memory id. */
  id(name: string): string;
  /** A namespaced scope. */
  scope(tenant: string, user: string): Scope;
  /** A namespaced projector name. */
  projector(name: string): string;
}

function memoryIds(n: Neighbourhood): string[] {
  return n.nodes.filter((x) => x.label === 'Memory').map((x) => x.id).sort();
}

function entityNames(n: Neighbourhood): string[] {
  return n.nodes.filter((x) => x.label === 'Entity').map((x) => x.name).sort();
}

/** Registers the contract cases for one adapter. */
export function memoryGraphContract(
  test: RegisterTest,
  name: string,
  open: () => Promise<MemoryGraphSubject>,
  options: MemoryGraphContractOptions = {},
): void {
  const fixture = async (t: ExecutionContext): Promise<Fixture> => {
    const subject = await open();
    t.teardown(() => subject.close());
    const ns = subject.namespace ?? '';
    return {
      graph: subject.graph,
      subject,
      id: (n) => `${ns}${n}`,
      scope: (tenant, user) => ({ tenantId: `${ns}${tenant}`, userId: user }),
      projector: (n) => `${ns}${n}`,
    };
  };
  const counts = async (t: ExecutionContext, f: Fixture, expected: Partial<GraphCounts>, message: string): Promise<void> => {
    if (!f.subject.counts) return;
    t.like(await f.subject.counts(), expected, message);
  };

  test(`${name}: upserting the same memory twice leaves one node, one fact edge and no duplicate provenance`, async (t) => {
    const f = await fixture(t);
    const A = f.scope('t1', 'u1');
    const [m1, m2] = [f.id('m1'), f.id('m2')];
    for (let round = 0; round < 2; round++) {
      await f.graph.upsertMemory(A, mem(m1, ['Alice', 'Paris'], {
        triple: { subject: 'Alice', predicate: 'lives_in', object: 'Paris' },
        sourceMessageIds: ['msg-1', 'msg-2', 'msg-1'],
      }));
      await f.graph.upsertMemory(A, mem(m2, ['Paris'], { sourceMessageIds: ['msg-2'] }));
    }
    t.deepEqual(await f.graph.neighbourhood(A, 'alice', 2, true), {
      nodes: [
        { id: 'entity:alice', label: 'Entity', name: 'Alice' },
        { id: 'entity:paris', label: 'Entity', name: 'Paris' },
        { id: m1, label: 'Memory', name: `memory text ${m1}`, status: 'active' },
        { id: m2, label: 'Memory', name: `memory text ${m2}`, status: 'active' },
      ],
      edges: [
        { from: m1, to: 'entity:alice', type: 'MENTIONS' },
        { from: m1, to: 'entity:paris', type: 'MENTIONS' },
        { from: m2, to: 'entity:paris', type: 'MENTIONS' },
        {
          from: 'entity:alice',
          to: 'entity:paris',
          type: 'RELATES',
          predicate: 'lives_in',
          memoryId: m1,
          validFrom: 1_000,
          validTo: null,
        },
      ],
    });
    t.deepEqual(await f.graph.entities(A, 10), [
      { name: 'Paris', mentions: 2 },
      { name: 'Alice', mentions: 1 },
    ]);
    await counts(t, f, { Memory: 2, Entity: 2, Message: 2, MENTIONS: 3, RELATES: 1, SOURCED_FROM: 3, ASSOCIATED: 0 }, 'after two rounds');

    // A new version replaces mentions, the fact edge and sources; what only it referred to goes.
    await f.graph.upsertMemory(A, mem(m1, ['Bob', 'Paris'], { text: 'new text', sourceMessageIds: ['msg-3'] }));
    t.deepEqual(await f.graph.entities(A, 10), [
      { name: 'Paris', mentions: 2 },
      { name: 'Bob', mentions: 1 },
    ]);
    const after = await f.graph.neighbourhood(A, 'paris', 1, true);
    t.is(after.nodes.find((n) => n.id === m1)?.name, 'new text');
    t.false(after.edges.some((e) => e.type === 'RELATES'));
    await counts(t, f, { Memory: 2, Entity: 2, Message: 2, MENTIONS: 3, RELATES: 0, SOURCED_FROM: 2 }, 'after the new version');
  });

  test(`${name}: tenants and users never see or touch each other's graph`, async (t) => {
    const f = await fixture(t);
    const A = f.scope('t1', 'u1');
    const B = f.scope('t1', 'u2');
    const C = f.scope('t2', 'u1');
    const [a1, a2, b1, b2, c1] = ['a1', 'a2', 'b1', 'b2', 'c1'].map(f.id) as [string, string, string, string, string];
    const knows = (object: string): Partial<GraphMemory> => ({ triple: { subject: 'Alice', predicate: 'knows', object } });
    await f.graph.upsertMemory(A, mem(a1, ['Alice', 'Rome'], { text: 'A secret', ...knows('Rome'), sourceMessageIds: ['same-msg'] }));
    await f.graph.upsertMemory(B, mem(b1, ['Alice', 'Oslo'], { text: 'B secret', ...knows('Oslo'), sourceMessageIds: ['same-msg'] }));
    await f.graph.upsertMemory(C, mem(c1, ['Alice', 'Lima'], { text: 'C secret', ...knows('Lima'), sourceMessageIds: ['same-msg'] }));
    await f.graph.upsertMemory(A, mem(a2, ['Rome']));
    await f.graph.upsertMemory(B, mem(b2, ['Alice']));

    const expected = [
      { scope: A, memories: [a1, a2], entities: ['Alice', 'Rome'] },
      { scope: B, memories: [b1, b2], entities: ['Alice', 'Oslo'] },
      { scope: C, memories: [c1], entities: ['Alice', 'Lima'] },
    ];
    const views = async (): Promise<Neighbourhood[]> =>
      Promise.all(expected.map((e) => f.graph.neighbourhood(e.scope, 'alice', 3, true)));
    const before = await views();
    for (const [i, e] of expected.entries()) {
      const n = before[i] as Neighbourhood;
      t.deepEqual(memoryIds(n), e.memories, `${e.scope.tenantId}/${e.scope.userId} memories`);
      t.deepEqual(entityNames(n), e.entities);
      t.is(n.edges.filter((x) => x.type === 'RELATES').length, 1);
      t.deepEqual((await f.graph.entities(e.scope, 10)).map((x) => x.name).sort(), e.entities);
    }
    t.deepEqual(await f.graph.related(A, [a1, b1, c1], 10), [{ id: a2, score: 1 }]);
    t.deepEqual(await f.graph.related(B, [a1], 10), []);

    // Writes naming another scope's memory do nothing; a memory id never moves between scopes.
    await f.graph.setStatus(B, a1, 'invalidated', 5_000, 5_000);
    await f.graph.removeMemory(C, a1);
    await f.graph.link(B, a1, [{ memoryId: b1, weight: 1 }]);
    await f.graph.link(B, b1, [{ memoryId: a1, weight: 1 }]);
    await t.throwsAsync(f.graph.upsertMemory(B, mem(a1, ['Alice'])), { instanceOf: ValidationError });
    t.deepEqual(await views(), before);

    // Erasure and lifecycle changes in one scope leave the same names in the others alone.
    await f.graph.removeMemory(A, a1);
    await f.graph.setStatus(B, b2, 'invalidated', 9_000, 9_000);
    t.deepEqual(memoryIds(await f.graph.neighbourhood(A, 'alice', 3, true)), []);
    t.deepEqual(memoryIds(await f.graph.neighbourhood(B, 'alice', 3)), [b1]);
    t.deepEqual(await f.graph.neighbourhood(C, 'alice', 3, true), before[2]);
    t.deepEqual(await f.graph.entities(C, 10), [
      { name: 'Alice', mentions: 1 },
      { name: 'Lima', mentions: 1 },
    ]);
    await counts(t, f, { Memory: 4, Message: 4, SOURCED_FROM: 4, RELATES: 2 }, 'message nodes are per scope');
  });

  test(`${name}: invalidation keeps the fact edge with its validity, hidden unless inactive is asked for`, async (t) => {
    const f = await fixture(t);
    const A = f.scope('t1', 'u1');
    const [m1, m2, q1] = [f.id('m1'), f.id('m2'), f.id('q1')];
    await f.graph.upsertMemory(A, mem(m1, ['Alice', 'Paris'], { triple: { subject: 'Alice', predicate: 'lives_in', object: 'Paris' } }));
    await f.graph.upsertMemory(A, mem(m2, ['Paris']));
    await f.graph.upsertMemory(A, mem(q1, ['Alice', 'Mallory'], { status: 'quarantined' }));
    t.deepEqual(memoryIds(await f.graph.neighbourhood(A, 'alice', 1)), [m1], 'quarantined memories are inactive');

    await f.graph.setStatus(A, m1, 'invalidated', 5_000, 6_000);
    t.deepEqual(await f.graph.neighbourhood(A, 'alice', 3), {
      nodes: [{ id: 'entity:alice', label: 'Entity', name: 'Alice' }],
      edges: [],
    });
    const all = await f.graph.neighbourhood(A, 'alice', 1, true);
    t.deepEqual(memoryIds(all), [m1, q1]);
    t.is(all.nodes.find((n) => n.id === m1)?.status, 'invalidated');
    t.deepEqual(all.edges.filter((e) => e.type === 'RELATES'), [
      { from: 'entity:alice', to: 'entity:paris', type: 'RELATES', predicate: 'lives_in', memoryId: m1, validFrom: 1_000, validTo: 5_000 },
    ]);
    t.deepEqual(await f.graph.related(A, [m2], 5), []);
    t.deepEqual(await f.graph.entities(A, 5), [{ name: 'Paris', mentions: 1 }]);

    await f.graph.setStatus(A, m1, 'active', null, null);
    const restored = await f.graph.neighbourhood(A, 'alice', 1);
    t.is(restored.nodes.find((n) => n.id === m1)?.status, 'active');
    t.like(restored.edges.find((e) => e.type === 'RELATES'), { validFrom: 1_000, validTo: null });
    t.deepEqual(await f.graph.related(A, [m2], 5), [{ id: m1, score: 1 }]);

    await f.graph.setStatus(A, f.id('absent'), 'invalidated', 1, 1); // no-op
    await t.throwsAsync(f.graph.setStatus(A, m1, 'gone' as never, null, null), { instanceOf: ValidationError });
    await t.throwsAsync(f.graph.setStatus(A, m1, 'active', 1.5, null), { instanceOf: ValidationError });
  });

  test(`${name}: association links are weighted, idempotent, and skip self and missing targets`, async (t) => {
    const f = await fixture(t);
    const A = f.scope('t1', 'u1');
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(f.id) as [string, string, string, string];
    for (const id of [a, b, c, d]) await f.graph.upsertMemory(A, mem(id, ['Hub']));
    const links = [
      { memoryId: b, weight: 1 },
      { memoryId: c, weight: 0.5 },
      { memoryId: d, weight: 2 },
      { memoryId: a, weight: 1 },
      { memoryId: f.id('missing'), weight: 1 },
    ];
    await f.graph.link(A, a, links);
    await f.graph.link(A, a, links);
    const associations = async (): Promise<GraphEdge[]> =>
      (await f.graph.neighbourhood(A, 'hub', 1)).edges.filter((e) => e.type === 'ASSOCIATED');
    t.deepEqual(await associations(), [
      { from: a, to: b, type: 'ASSOCIATED', weight: 1 },
      { from: a, to: c, type: 'ASSOCIATED', weight: 0.5 },
      { from: a, to: d, type: 'ASSOCIATED', weight: 2 },
    ]);
    await counts(t, f, { ASSOCIATED: 3 }, 'one edge per pair');

    await f.graph.link(A, a, [{ memoryId: c, weight: 0.25 }]);
    t.deepEqual(
      (await associations()).map((e) => [e.to, e.weight]),
      [[b, 1], [c, 0.25], [d, 2]],
    );
    t.deepEqual(await f.graph.related(A, [a], 10), [
      { id: d, score: 3 },
      { id: b, score: 2 },
      { id: c, score: 1.25 },
    ]);
    await counts(t, f, { ASSOCIATED: 3 }, 'a new weight replaces the old one');
    await t.throwsAsync(f.graph.link(A, a, [{ memoryId: b, weight: Number.NaN }]), { instanceOf: ValidationError });
  });

  test(`${name}: related() expands through shared entities and associations, active only, best first`, async (t) => {
    const f = await fixture(t);
    const A = f.scope('t1', 'u1');
    const id = f.id;
    await f.graph.upsertMemory(A, mem(id('seed1'), ['Alice', 'Paris', 'Louvre']));
    await f.graph.upsertMemory(A, mem(id('seed2'), ['Bob']));
    await f.graph.upsertMemory(A, mem(id('two'), ['Alice', 'Paris']));
    await f.graph.upsertMemory(A, mem(id('one'), ['Louvre', 'Art']));
    await f.graph.upsertMemory(A, mem(id('assoc'), ['Nothing']));
    await f.graph.upsertMemory(A, mem(id('both'), ['Bob']));
    await f.graph.upsertMemory(A, mem(id('stale'), ['Alice', 'Paris', 'Louvre'], { status: 'invalidated' }));
    await f.graph.upsertMemory(A, mem(id('far'), ['Art']));
    await f.graph.link(A, id('seed1'), [
      { memoryId: id('assoc'), weight: 0.75 },
      { memoryId: id('both'), weight: 1 },
      { memoryId: id('stale'), weight: 1 },
    ]);
    await f.graph.link(A, id('assoc'), [{ memoryId: id('seed1'), weight: 0.5 }]);

    const expected = [
      { id: id('both'), score: 2 },
      { id: id('two'), score: 2 },
      { id: id('one'), score: 1 },
      { id: id('assoc'), score: 0.75 },
    ];
    t.deepEqual(await f.graph.related(A, [id('seed1'), id('seed2')], 10), expected);
    t.deepEqual(await f.graph.related(A, [id('seed1'), id('seed2')], 2), expected.slice(0, 2));
    t.deepEqual(await f.graph.related(A, [], 5), []);
    t.deepEqual(await f.graph.related(A, [id('seed1')], 0), []);
    t.deepEqual(await f.graph.related(A, [id('unknown')], 5), []);
  });

  test(`${name}: entities() lists active mentions, most first, then by name, up to the limit`, async (t) => {
    const f = await fixture(t);
    const A = f.scope('t1', 'u1');
    await f.graph.upsertMemory(A, mem(f.id('m1'), ['Zed', 'Amy', 'Bob']));
    await f.graph.upsertMemory(A, mem(f.id('m2'), ['Bob', 'Amy']));
    await f.graph.upsertMemory(A, mem(f.id('m3'), ['bob'])); // the same entity: the first spelling is kept
    await f.graph.upsertMemory(A, mem(f.id('m4'), ['Cat'], { status: 'quarantined' }));
    await f.graph.upsertMemory(A, mem(f.id('m5'), ['Dan']));
    t.deepEqual(await f.graph.entities(A, 10), [
      { name: 'Bob', mentions: 3 },
      { name: 'Amy', mentions: 2 },
      { name: 'Dan', mentions: 1 },
      { name: 'Zed', mentions: 1 },
    ]);
    t.deepEqual(await f.graph.entities(A, 3), [
      { name: 'Bob', mentions: 3 },
      { name: 'Amy', mentions: 2 },
      { name: 'Dan', mentions: 1 },
    ]);
    t.deepEqual(await f.graph.entities(A, 0), []);
    t.deepEqual(await f.graph.entities(f.scope('t1', 'nobody'), 10), []);
    await t.throwsAsync(f.graph.entities(A, -1), { instanceOf: ValidationError });
  });

  test(`${name}: removeMemory leaves no node, edge, or entity and message only it referred to`, async (t) => {
    const f = await fixture(t);
    const A = f.scope('t1', 'u1');
    const [m1, m2] = [f.id('m1'), f.id('m2')];
    const secret = 'Zanzibar-7731 is my bank PIN';
    await f.graph.upsertMemory(A, mem(m1, ['Zanzibar-7731', 'Bank'], {
      text: secret,
      triple: { subject: 'Zanzibar-7731', predicate: 'pin_of', object: 'Bank' },
      sourceMessageIds: ['secret-message', 'shared-message'],
    }));
    await f.graph.upsertMemory(A, mem(m2, ['Bank'], { sourceMessageIds: ['shared-message'] }));
    await f.graph.link(A, m2, [{ memoryId: m1, weight: 0.9 }]);
    await f.graph.link(A, m1, [{ memoryId: m2, weight: 0.9 }]);
    await f.graph.removeMemory(A, m1);
    await f.graph.removeMemory(A, m1); // erasure is idempotent

    t.deepEqual(await f.graph.entities(A, 10), [{ name: 'Bank', mentions: 1 }]);
    t.deepEqual(await f.graph.neighbourhood(A, 'zanzibar-7731', 3, true), { nodes: [], edges: [] });
    const left = await f.graph.neighbourhood(A, 'bank', 3, true);
    t.deepEqual(left, {
      nodes: [
        { id: 'entity:bank', label: 'Entity', name: 'Bank' },
        { id: m2, label: 'Memory', name: `memory text ${m2}`, status: 'active' },
      ],
      edges: [{ from: m2, to: 'entity:bank', type: 'MENTIONS' }],
    });
    t.deepEqual(await f.graph.related(A, [m2], 10), []);
    await counts(t, f, { Memory: 1, Entity: 1, Message: 1, MENTIONS: 1, RELATES: 0, ASSOCIATED: 0, SOURCED_FROM: 1 }, 'no trace');
  });

  test(`${name}: checkpoints save, load, overwrite (last write wins) and reset per projector`, async (t) => {
    const f = await fixture(t);
    const [p1, p2] = [f.projector('p1'), f.projector('p2')];
    t.is(await f.graph.checkpoint(p1, 'memory-events', 0), 0);
    await f.graph.saveCheckpoint(p1, 'memory-events', 0, 10);
    await f.graph.saveCheckpoint(p1, 'memory-events', 1, 4);
    await f.graph.saveCheckpoint(p2, 'memory-events', 0, 99);
    await f.graph.saveCheckpoint(p1, 'memory-events', 0, 12);
    t.is(await f.graph.checkpoint(p1, 'memory-events', 0), 12);
    t.is(await f.graph.checkpoint(p1, 'memory-events', 1), 4);
    t.is(await f.graph.checkpoint(p1, 'other-topic', 0), 0);
    await f.graph.saveCheckpoint(p1, 'memory-events', 1, 3); // the projector decides; the store keeps the last
    t.is(await f.graph.checkpoint(p1, 'memory-events', 1), 3);
    await f.graph.saveCheckpoint(p1, 'memory-events', 2, 2 ** 40); // offsets beyond int32 stay exact
    t.is(await f.graph.checkpoint(p1, 'memory-events', 2), 2 ** 40);

    await f.graph.reset(p1);
    for (const partition of [0, 1, 2]) t.is(await f.graph.checkpoint(p1, 'memory-events', partition), 0);
    t.is(await f.graph.checkpoint(p2, 'memory-events', 0), 99);
    await t.throwsAsync(f.graph.saveCheckpoint(p1, 'memory-events', 0, -1), { instanceOf: ValidationError });
    await t.throwsAsync(f.graph.saveCheckpoint(p1, 'memory-events', 0, 1.5), { instanceOf: ValidationError });
    await t.throwsAsync(f.graph.checkpoint(p1, 'memory-events', -1), { instanceOf: ValidationError });
  });

  if (options.clear ?? true) {
    test(`${name}: clear() drops every memory, entity and message but keeps checkpoints`, async (t) => {
      const f = await fixture(t);
      const A = f.scope('t1', 'u1');
      const B = f.scope('t2', 'u1');
      const p1 = f.projector('p1');
      await f.graph.upsertMemory(A, mem(f.id('m1'), ['Alice', 'Paris'], { triple: { subject: 'Alice', predicate: 'p', object: 'Paris' } }));
      await f.graph.upsertMemory(B, mem(f.id('m2'), ['Bob']));
      await f.graph.upsertMemory(A, mem(f.id('m3'), ['Paris']));
      await f.graph.link(A, f.id('m1'), [{ memoryId: f.id('m3'), weight: 1 }]);
      await f.graph.saveCheckpoint(p1, 'memory-events', 0, 12);
      await f.graph.clear();
      t.deepEqual(await f.graph.entities(A, 5), []);
      t.deepEqual(await f.graph.entities(B, 5), []);
      t.deepEqual(await f.graph.neighbourhood(A, 'alice', 3, true), { nodes: [], edges: [] });
      await counts(t, f, { Memory: 0, Entity: 0, Message: 0, MENTIONS: 0, RELATES: 0, ASSOCIATED: 0, SOURCED_FROM: 0 }, 'empty');
      t.is(await f.graph.checkpoint(p1, 'memory-events', 0), 12);
      // The same ids can be written again (a rebuild).
      await f.graph.upsertMemory(A, mem(f.id('m1'), ['Alice']));
      t.deepEqual(await f.graph.entities(A, 5), [{ name: 'Alice', mentions: 1 }]);
    });
  }

  test(`${name}: hostile strings are plain data; bad input is a ValidationError`, async (t) => {
    const f = await fixture(t);
    const A = f.scope('t1', 'u1');
    const hostile = HOSTILE_GRAPH_STRINGS;
    await f.graph.upsertMemory(A, mem(f.id('keep'), ['Anchor']));
    for (const [i, name] of hostile.entries()) {
      await f.graph.upsertMemory(A, mem(f.id(`h${i}`), [name, 'Anchor'], {
        text: `${name} // text ${i}`,
        triple: { subject: name, predicate: `pred ${name}`, object: 'Anchor' },
        sourceMessageIds: [name],
      }));
    }
    await f.graph.setStatus(A, "x' OR 1=1 //", 'invalidated', 1, 1);
    await f.graph.removeMemory(A, "') DETACH DELETE m //");
    const listed = await f.graph.entities(A, 100);
    t.deepEqual(listed.find((e) => e.name === 'Anchor'), { name: 'Anchor', mentions: hostile.length + 1 });
    for (const [i, name] of hostile.entries()) {
      t.deepEqual(listed.find((e) => e.name === name), { name, mentions: 1 }, name);
      const n = await f.graph.neighbourhood(A, name, 1);
      t.true(n.nodes.some((x) => x.label === 'Memory' && x.name === `${name} // text ${i}`), name);
      t.true(n.edges.some((e) => e.type === 'RELATES' && e.predicate === `pred ${name}`), name);
    }
    t.is((await f.graph.related(A, [f.id('keep')], 100)).length, hostile.length);

    await t.throwsAsync(f.graph.entities({ tenantId: 'bad tenant', userId: 'u1' }, 5), { instanceOf: ValidationError });
    await t.throwsAsync(f.graph.neighbourhood(A, 'anchor', 0), { instanceOf: ValidationError });
    await t.throwsAsync(f.graph.neighbourhood(A, 'anchor', 4), { instanceOf: ValidationError });
    await t.throwsAsync(f.graph.upsertMemory(A, mem(f.id('bad'), ['X'], { validFrom: 0.5 })), { instanceOf: ValidationError });
    await t.throwsAsync(f.graph.upsertMemory(A, mem('', ['X'])), { instanceOf: ValidationError });
  });

  test(`${name}: concurrent upserts of one entity each commit in their own transaction`, async (t) => {
    const f = await fixture(t);
    const A = f.scope('t1', 'u1');
    const writes = Array.from({ length: 8 }, (_, i) => f.graph.upsertMemory(A, mem(f.id(`c${i}`), ['Shared', `Own ${i}`])));
    const failing = f.graph.upsertMemory(A, mem(f.id('bad'), ['Shared'], { recordedAt: 0.5 }));
    await Promise.all(writes);
    await t.throwsAsync(failing, { instanceOf: ValidationError });
    t.deepEqual((await f.graph.entities(A, 1))[0], { name: 'Shared', mentions: 8 });
    t.is((await f.graph.related(A, [f.id('c0')], 100)).length, 7);
    await counts(t, f, { Memory: 8, Entity: 9, MENTIONS: 16, Message: 8 }, 'one Shared entity');
  });
}
