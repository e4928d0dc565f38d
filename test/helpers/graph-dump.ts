/** Graph test helpers: the port call of one operation, and a whole LadybugDB graph as sorted lines. */
import path from 'node:path';
import lbug from '@ladybugdb/core';
import type { GraphOp } from '../../core/ports.js';
import { GRAPH_FILE, type LadybugMemoryGraph } from '../../infra/embedded/memory-graph.js';

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
