/** Graph test helpers: random operations, the port call of one operation, and a whole LadybugDB graph as sorted lines. */
import path from 'node:path';
import lbug from '@ladybugdb/core';
import fc from 'fast-check';
import type { GraphOp } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import { GRAPH_FILE, type LadybugMemoryGraph } from '../../infra/embedded/memory-graph.js';
import { graphMemoryFixture as mem } from './fixtures.js';

/** Applies one operation through the one-by-one port call (the reference batches are held to). */
export async function applyOne(g: LadybugMemoryGraph, op: GraphOp): Promise<void> {
  if (op.op === 'upsert') await g.upsertMemory(op.scope, op.memory);
  else if (op.op === 'status') await g.setStatus(op.scope, op.memoryId, op.status, op.validTo, op.supersededAt);
  else if (op.op === 'link') await g.link(op.scope, op.memoryId, op.links);
  else await g.removeMemory(op.scope, op.memoryId);
}

/** Every node and edge of the graph database in `dir`, as sorted JSON lines (the graph must be closed). */
export async function dumpGraph(dir: string): Promise<string[]> {
  const db = new lbug.Database(path.join(dir, GRAPH_FILE));
  const conn = new lbug.Connection(db);
  const out: string[] = [];
  const queries = [
    'MATCH (n:Memory) RETURN n.key, n.tenant, n.user, n.text, n.kind, n.status, n.validFrom, n.validTo, n.recordedAt, n.supersededAt',
    'MATCH (n:Entity) RETURN n.key, n.tenant, n.user, n.name',
    'MATCH (n:Message) RETURN n.key, n.tenant, n.user, n.messageId',
    'MATCH (x)-[r:MENTIONS]->(y) RETURN x.key, y.key',
    'MATCH (x)-[r:SOURCED_FROM]->(y) RETURN x.key, y.key',
    'MATCH (x)-[r:ASSOCIATED]->(y) RETURN x.key, y.key, r.weight',
    'MATCH (x)-[r:RELATES]->(y) RETURN x.key, y.key, r.memoryId, r.predicate, r.status, r.validFrom, r.validTo, r.recordedAt, r.supersededAt',
  ];
  for (const [i, q] of queries.entries()) {
    const result = await conn.query(q);
    for (const r of Array.isArray(result) ? result : [result]) {
      for (const row of await r.getAll()) out.push(`${i} ${JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}`);
      r.close();
    }
  }
  await conn.close();
  await db.close();
  return out.sort();
}

/**
 * Random graph operations over a few memory ids (each id in one scope, ids being global keys),
 * sharing entities and messages: upserts, links, status changes and removals.
 */
export function graphOpArbitrary(ids: readonly string[], scopeOfId: (id: string) => Scope): fc.Arbitrary<GraphOp> {
  const id = fc.constantFrom(...ids);
  return fc.oneof(
    fc.record({ id, ents: fc.subarray(['Paris', 'paris', 'Emma', 'Oslo']), msg: fc.constantFrom('m1', 'm2', 'm3'), fact: fc.boolean(), status: fc.constantFrom('active' as const, 'quarantined' as const) }).map(
      (r): GraphOp => ({
        op: 'upsert',
        scope: scopeOfId(r.id),
        memory: mem(r.id, r.ents, { status: r.status, sourceMessageIds: [r.msg], triple: r.fact ? { subject: 'Emma', predicate: 'visits', object: 'Oslo' } : null }),
      }),
    ),
    fc.record({ id, to: fc.array(fc.record({ memoryId: id, weight: fc.constantFrom(0.25, 0.5, 1, 2) }), { maxLength: 3 }) }).map(
      (r): GraphOp => ({ op: 'link', scope: scopeOfId(r.id), memoryId: r.id, links: r.to }),
    ),
    id.map((x): GraphOp => ({ op: 'status', scope: scopeOfId(x), memoryId: x, status: 'invalidated', validTo: 5_000, supersededAt: 6_000 })),
    id.map((x): GraphOp => ({ op: 'remove', scope: scopeOfId(x), memoryId: x })),
  );
}

/**
 * Asserts, over random batches of graph operations (ids each in one scope), that `compare` gives
 * two equal dumps: the property the batched and the rebuild-mode writers are held to.
 */
export async function assertEqualOverRandomBatches(
  compare: (batches: GraphOp[][]) => Promise<readonly [string[], string[]]>,
  opts: { readonly ids: readonly string[]; readonly scopeOfId: (id: string) => Scope; readonly maxBatches: number; readonly numRuns: number; readonly seed: number },
): Promise<void> {
  const op = graphOpArbitrary(opts.ids, opts.scopeOfId);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: opts.maxBatches }), async (batches) => {
      const [expected, actual] = await compare(batches);
      return JSON.stringify(actual) === JSON.stringify(expected);
    }),
    { numRuns: opts.numRuns, seed: opts.seed },
  );
}
