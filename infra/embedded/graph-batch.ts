/**
 * Batched graph writes for the projector: a whole batch of memory events in one transaction, with
 * new memories (the common case, and every case in a rebuild) and association links written by a
 * few `UNWIND $rows` statements instead of five statements each. The result equals applying the
 * operations one by one, in order:
 *
 * - Only memories absent from the graph at the start of the batch and not written earlier in it
 *   are "fresh": they have no edges to replace, so their nodes and edges are created outright.
 * - Consecutive fresh memories and links form a wave: its memories are created first, then its
 *   links. A fresh memory that a pending link names closes the wave first (sequentially, that link
 *   found no such memory), so no link ever sees a memory created after it.
 * - Every other operation (a re-written memory, a status change, an erasure) closes the wave and
 *   runs alone through the shared single-operation Cypher.
 *
 * Pattern note: every lookup is its own `MATCH (x {key: …})` clause. LadybugDB plans a comma-joined
 * `MATCH (a {key: …}), (b {key: …})` as a scan and join, hundreds of times slower on large graphs.
 */
import { ValidationError } from '../../core/errors.js';
import { MEMORY_STATUSES } from '../../core/model.js';
import type { GraphMemory, GraphOp } from '../../core/ports.js';

export type { GraphOp };
import { assertScopeId, type Scope } from '../../core/scope.js';
import type { CypherRunner, CypherValue } from '../graph/cypher.js';
import { entityNormOf, entityRowsOf, eraseMemory, OPEN_END, scopedKey, storedTime, writeLinks, writeMemory, writeStatus } from '../graph/cypher.js';

/** A step of the plan: a wave of fresh memories then links, or one operation on its own. */
export type GraphStep =
  | { readonly kind: 'wave'; readonly fresh: readonly Extract<GraphOp, { op: 'upsert' }>[]; readonly links: readonly Extract<GraphOp, { op: 'link' }>[] }
  | { readonly kind: 'single'; readonly op: GraphOp };

/**
 * Pure: splits operations into steps whose in-order execution equals running every operation
 * alone, in order. `existing` holds the memory ids already in the graph.
 */
export function planGraphSteps(ops: readonly GraphOp[], existing: ReadonlySet<string>): GraphStep[] {
  const steps: GraphStep[] = [];
  const written = new Set<string>();
  let fresh: Extract<GraphOp, { op: 'upsert' }>[] = [];
  let links: Extract<GraphOp, { op: 'link' }>[] = [];
  /** Memory ids the pending links name, as source or target. */
  let named = new Set<string>();
  const flush = (): void => {
    if (fresh.length > 0 || links.length > 0) steps.push({ kind: 'wave', fresh, links });
    fresh = [];
    links = [];
    named = new Set();
  };
  for (const op of ops) {
    if (op.op === 'upsert' && !existing.has(op.memory.id) && !written.has(op.memory.id)) {
      if (named.has(op.memory.id)) flush();
      fresh.push(op);
      written.add(op.memory.id);
    } else if (op.op === 'link') {
      links.push(op);
      named.add(op.memoryId);
      for (const l of op.links) named.add(l.memoryId);
    } else {
      flush();
      steps.push({ kind: 'single', op });
      if (op.op === 'upsert') written.add(op.memory.id);
    }
  }
  flush();
  return steps;
}

const STATEMENTS = {
  owners: `UNWIND $ids AS id
MATCH (m:Memory {key: id})
RETURN m.key AS key, m.tenant AS tenant, m.user AS user`,
  createMemories: `UNWIND $rows AS r
CREATE (m:Memory {key: r.id, tenant: r.tenant, user: r.user, text: r.text, kind: r.kind, status: r.status,
  validFrom: r.validFrom, validTo: r.validTo, recordedAt: r.recordedAt, supersededAt: r.supersededAt})`,
  existingEntities: `UNWIND $keys AS k
MATCH (e:Entity {key: k})
RETURN e.key AS key`,
  createEntities: `UNWIND $rows AS r
CREATE (e:Entity {key: r.key, tenant: r.tenant, user: r.user, name: r.name})`,
  createMentions: `UNWIND $rows AS r
MATCH (m:Memory {key: r.id})
MATCH (e:Entity {key: r.key})
CREATE (m)-[:MENTIONS]->(e)`,
  createFactEdges: `UNWIND $rows AS r
MATCH (a:Entity {key: r.subjectKey})
MATCH (b:Entity {key: r.objectKey})
CREATE (a)-[:RELATES {memoryId: r.id, predicate: r.predicate, status: r.status, validFrom: r.validFrom,
  validTo: r.validTo, recordedAt: r.recordedAt, supersededAt: r.supersededAt}]->(b)`,
  existingMessages: `UNWIND $keys AS k
MATCH (s:Message {key: k})
RETURN s.key AS key`,
  createMessages: `UNWIND $rows AS r
CREATE (s:Message {key: r.key, tenant: r.tenant, user: r.user, messageId: r.messageId})`,
  createSources: `UNWIND $rows AS r
MATCH (m:Memory {key: r.id})
MATCH (s:Message {key: r.key})
CREATE (m)-[:SOURCED_FROM]->(s)`,
  /** Links from memories created in this wave: none of their edges can exist yet. */
  createLinks: `UNWIND $rows AS r
MATCH (a:Memory {key: r.source})
WHERE a.tenant = r.tenant AND a.user = r.user
MATCH (b:Memory {key: r.target})
WHERE b.tenant = r.tenant AND b.user = r.user
CREATE (a)-[:ASSOCIATED {weight: r.weight}]->(b)`,
  mergeLinks: `UNWIND $rows AS r
MATCH (a:Memory {key: r.source})
WHERE a.tenant = r.tenant AND a.user = r.user
MATCH (b:Memory {key: r.target})
WHERE b.tenant = r.tenant AND b.user = r.user
MERGE (a)-[x:ASSOCIATED]->(b)
ON CREATE SET x.weight = r.weight
ON MATCH SET x.weight = r.weight`,
} as const;

function assertId(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(`${field} must be a non-empty string`, { field });
}

function assertTime(field: string, value: unknown, nullable: boolean): void {
  if (value === null && nullable) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value >= OPEN_END || value <= -OPEN_END) {
    throw new ValidationError(`${field} must be an integer time in ms${nullable ? ' or null' : ''}`, { field });
  }
}

/** The checks `writeMemory` makes, for memories that take the batched path. */
function validateMemory(scope: Scope, m: GraphMemory): void {
  assertScopeId('tenant', scope.tenantId);
  assertScopeId('user', scope.userId);
  assertId('memory id', m.id);
  if (typeof m.text !== 'string') throw new ValidationError('text must be a string', { field: 'text' });
  assertId('kind', m.kind);
  if (!(MEMORY_STATUSES as readonly unknown[]).includes(m.status)) {
    throw new ValidationError(`status must be one of ${MEMORY_STATUSES.join(', ')}`, { field: 'status' });
  }
  assertTime('validFrom', m.validFrom, false);
  assertTime('validTo', m.validTo, true);
  assertTime('recordedAt', m.recordedAt, false);
  assertTime('supersededAt', m.supersededAt, true);
}

/** Runs a statement over `rows` in chunks (bounded parameter size); nothing for no rows. */
async function runRows(tx: CypherRunner, statement: string, rows: readonly Record<string, CypherValue>[], chunk = 2000): Promise<void> {
  for (let i = 0; i < rows.length; i += chunk) await tx.run(statement, { rows: rows.slice(i, i + chunk) });
}

/** Keys among `keys` that exist as nodes (by the given lookup statement). */
async function existingKeys(tx: CypherRunner, statement: string, keys: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < keys.length; i += 2000) {
    for (const row of await tx.run(statement, { keys: keys.slice(i, i + 2000) })) out.add(row.key as string);
  }
  return out;
}

/** Creates a wave's fresh memories with their entities, mentions, fact edges and sources, then its links. */
async function writeWave(tx: CypherRunner, step: Extract<GraphStep, { kind: 'wave' }>): Promise<void> {
  const memories: Record<string, CypherValue>[] = [];
  const entities = new Map<string, Record<string, CypherValue>>();
  const mentions: Record<string, CypherValue>[] = [];
  const facts: Record<string, CypherValue>[] = [];
  const messages = new Map<string, Record<string, CypherValue>>();
  const sources: Record<string, CypherValue>[] = [];
  for (const { scope, memory: m } of step.fresh) {
    validateMemory(scope, m);
    const sp = { tenant: scope.tenantId, user: scope.userId };
    const validTo = storedTime(m.validTo);
    const supersededAt = storedTime(m.supersededAt);
    memories.push({ ...sp, id: m.id, text: m.text, kind: m.kind, status: m.status, validFrom: m.validFrom, validTo, recordedAt: m.recordedAt, supersededAt });
    for (const e of entityRowsOf(scope, m)) {
      // The first spelling of a name seen is the one kept (as MERGE … ON CREATE SET does).
      if (!entities.has(e.key)) entities.set(e.key, { ...sp, key: e.key, name: e.name });
      mentions.push({ id: m.id, key: e.key });
    }
    const t = m.triple;
    if (t && entityNormOf(t.subject) !== '' && entityNormOf(t.object) !== '') {
      facts.push({
        id: m.id,
        subjectKey: scopedKey(scope, entityNormOf(t.subject)),
        objectKey: scopedKey(scope, entityNormOf(t.object)),
        predicate: t.predicate,
        status: m.status,
        validFrom: m.validFrom,
        validTo,
        recordedAt: m.recordedAt,
        supersededAt,
      });
    }
    for (const messageId of new Set(m.sourceMessageIds.filter((x) => typeof x === 'string' && x !== ''))) {
      const key = scopedKey(scope, messageId);
      if (!messages.has(key)) messages.set(key, { ...sp, key, messageId });
      sources.push({ id: m.id, key });
    }
  }
  await runRows(tx, STATEMENTS.createMemories, memories);
  const knownEntities = entities.size > 0 ? await existingKeys(tx, STATEMENTS.existingEntities, [...entities.keys()]) : new Set<string>();
  await runRows(tx, STATEMENTS.createEntities, [...entities.values()].filter((e) => !knownEntities.has(e.key as string)));
  await runRows(tx, STATEMENTS.createMentions, mentions);
  await runRows(tx, STATEMENTS.createFactEdges, facts);
  const knownMessages = messages.size > 0 ? await existingKeys(tx, STATEMENTS.existingMessages, [...messages.keys()]) : new Set<string>();
  await runRows(tx, STATEMENTS.createMessages, [...messages.values()].filter((s) => !knownMessages.has(s.key as string)));
  await runRows(tx, STATEMENTS.createSources, sources);

  // Links: the last weight of a pair wins, as when each ClusterAssigned ran on its own.
  const pairs = new Map<string, Record<string, CypherValue>>();
  for (const { scope, memoryId, links } of step.links) {
    assertScopeId('tenant', scope.tenantId);
    assertScopeId('user', scope.userId);
    assertId('memory id', memoryId);
    for (const link of links) {
      assertId('link memory id', link.memoryId);
      if (typeof link.weight !== 'number' || !Number.isFinite(link.weight)) {
        throw new ValidationError('link weight must be a finite number', { field: 'weight' });
      }
      if (link.memoryId === memoryId) continue;
      const key = `${scope.tenantId}|${scope.userId}|${memoryId}|${link.memoryId}`;
      pairs.delete(key);
      pairs.set(key, { tenant: scope.tenantId, user: scope.userId, source: memoryId, target: link.memoryId, weight: link.weight });
    }
  }
  // One statement per number kind: a list never mixes integer-valued and fractional weights.
  const created = new Set(step.fresh.map((f) => f.memory.id));
  const rows = [...pairs.values()];
  for (const whole of [true, false]) {
    const kind = rows.filter((r) => Number.isInteger(r.weight) === whole);
    await runRows(tx, STATEMENTS.createLinks, kind.filter((r) => created.has(r.source as string)));
    await runRows(tx, STATEMENTS.mergeLinks, kind.filter((r) => !created.has(r.source as string)));
  }
}

/** Applies operations in order inside the caller's transaction (see the file comment). */
export async function applyGraphOps(tx: CypherRunner, ops: readonly GraphOp[]): Promise<void> {
  const ids = [...new Set(ops.flatMap((o) => (o.op === 'upsert' ? [o.memory.id] : [])))];
  for (const id of ids) assertId('memory id', id);
  const existing = new Set<string>();
  for (let i = 0; i < ids.length; i += 2000) {
    for (const row of await tx.run(STATEMENTS.owners, { ids: ids.slice(i, i + 2000) })) existing.add(row.key as string);
  }
  for (const step of planGraphSteps(ops, existing)) {
    if (step.kind === 'wave') {
      await writeWave(tx, step);
      continue;
    }
    const op = step.op;
    if (op.op === 'upsert') await writeMemory(tx, op.scope, op.memory);
    else if (op.op === 'status') await writeStatus(tx, op.scope, op.memoryId, op.status, op.validTo, op.supersededAt);
    else if (op.op === 'link') await writeLinks(tx, op.scope, op.memoryId, op.links);
    else await eraseMemory(tx, op.scope, op.memoryId);
  }
}
