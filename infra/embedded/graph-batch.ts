/**
 * Batched graph writes for the projector: a whole batch of memory events in one transaction, with
 * new memories (the common case, and every case in a rebuild) and association links written by a
 * few bulk statements (see STATEMENTS) instead of five statements each. The result equals applying
 * the operations one by one, in order:
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
 * LadybugDB's own bulk load (`COPY`) is not used: rolling back a transaction that copied into a
 * relationship table drops that table's committed relationships too (0.19).
 */
import { ValidationError } from '../../core/errors.js';
import { MEMORY_STATUSES } from '../../core/model.js';
import type { GraphMemory, GraphOp } from '../../core/ports.js';

export type { GraphOp };
import { assertScopeId, type Scope } from '../../core/scope.js';
import type { CypherRunner, CypherValue } from '../graph/cypher.js';
import { CYPHER, entityNormOf, entityRowsOf, eraseMemory, OPEN_END, scopedKey, storedTime, writeLinks, writeMemory, writeStatus } from '../graph/cypher.js';

/**
 * What a rebuild knows of the graph without asking it: every Memory (with its owner), Entity and
 * Message node, kept up to date by the writes of `applyGraphOps`. With it, a batch looks nothing
 * up to learn which of its memories, entities and messages are new. It must hold exactly the
 * graph's nodes: it is built from the graph (or empty after a clear) and dropped when a write
 * fails (the transaction rolled back).
 */
export interface GraphKnowledge {
  readonly memories: Map<string, { readonly tenant: string; readonly user: string }>;
  readonly entities: Set<string>;
  readonly messages: Set<string>;
}

/** Knowledge of an empty graph. */
export function emptyKnowledge(): GraphKnowledge {
  return { memories: new Map(), entities: new Set(), messages: new Set() };
}

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

/**
 * The wave statements. LadybugDB converts a parameter list of JS objects into STRUCT values field
 * by field on the main thread, several times slower than flat lists, so new nodes travel as
 * columns (one list per property, indexed by `range(1, $n)`; lists are 1-based in LadybugDB, and
 * this file is LadybugDB's alone), and the edges of a new node are created in the statement that
 * creates it, from a list of keys per node: the new node is at hand and the other end is looked up
 * by a key unwound from that list. Edges between existing nodes (links, fact edges) travel as
 * columns too (a 3-field row cost ~7 µs to convert, a flat value ~0.4 µs): one end is looked up by
 * a key projected from the index (`WITH i, $source[i] AS s MATCH (a {key: s})`), the other by a key
 * unwound from a list per row (`$targets[i]`). A lookup must take its key from an unwound value, a
 * field of an unwound row or such a projection: a key indexed out of a list inside the pattern
 * (`$keys[i]`, `p[2]`) is planned as a scan and join, and LadybugDB 0.19 pairs the rows of two
 * projected lookups in one statement wrongly, or takes two elements of one unwound list for one
 * expression.
 */
/**
 * Columns whose values can neither be empty nor hold a delimiter (scope ids, statuses, integer
 * times): each travels as one string, `[a,b,…]`, cast to a list once per statement, instead of a
 * list of values converted one by one (~0.4 µs each). A cast list's elements come out typed as
 * strings, so integer ones are cast back where they are used.
 */
const PACKED: ReadonlySet<string> = new Set(['tenant', 'user', 'status', 'validFrom', 'validTo', 'recordedAt', 'supersededAt']);

/** No column packed. */
const UNPACKED: ReadonlySet<string> = new Set();

/** The Cypher that unpacks the PACKED columns (see PACKED). */
const UNPACK = {
  scope: 'CAST($tenant AS STRING[]) AS tenants, CAST($user AS STRING[]) AS users',
  times: `CAST($status AS STRING[]) AS statuses, CAST($validFrom AS INT64[]) AS validFroms, CAST($validTo AS INT64[]) AS validTos,
  CAST($recordedAt AS INT64[]) AS recordedAts, CAST($supersededAt AS INT64[]) AS supersededAts`,
  timeProps: `status: statuses[i], validFrom: CAST(validFroms[i] AS INT64), validTo: CAST(validTos[i] AS INT64),
  recordedAt: CAST(recordedAts[i] AS INT64), supersededAt: CAST(supersededAts[i] AS INT64)`,
} as const;

/** Both ends of each link, for the link statements: sources by index, their targets unwound (see the lookup rule above). */
const LINK_ENDS = `UNWIND range(1, $n) AS i
WITH i, $source[i] AS s
MATCH (a:Memory {key: s})
WITH a, i
UNWIND $targets[i] AS t
MATCH (b:Memory {key: t})`;

const STATEMENTS = {
  owners: `UNWIND $ids AS id
MATCH (m:Memory {key: id})
RETURN m.key AS key, m.tenant AS tenant, m.user AS user`,
  existingEntities: `UNWIND $keys AS k
MATCH (e:Entity {key: k})
RETURN e.key AS key`,
  createEntities: `WITH ${UNPACK.scope}
UNWIND range(1, $n) AS i
CREATE (e:Entity {key: $key[i], tenant: tenants[i], user: users[i], name: $name[i]})`,
  /** New memories and their mentions: `$entities[i]` holds the keys of the entities memory i mentions. */
  createMemoriesWithMentions: `WITH ${UNPACK.scope}, ${UNPACK.times}
UNWIND range(1, $n) AS i
CREATE (m:Memory {key: $id[i], tenant: tenants[i], user: users[i], text: $text[i], kind: $kind[i], ${UNPACK.timeProps}})
WITH m, i
UNWIND $entities[i] AS k
MATCH (e:Entity {key: k})
CREATE (m)-[:MENTIONS]->(e)`,
  /** New memories none of which mentions an entity (a list of empty lists has no element type). */
  createMemories: `WITH ${UNPACK.scope}, ${UNPACK.times}
UNWIND range(1, $n) AS i
CREATE (m:Memory {key: $id[i], tenant: tenants[i], user: users[i], text: $text[i], kind: $kind[i], ${UNPACK.timeProps}})`,
  /**
   * Fact edges as columns: `$object[i]` is the one-element list of fact i's object key. Not packed
   * (see PACKED): lists carried through its lookups would be copied with every row.
   */
  createFactEdges: `UNWIND range(1, $n) AS i
WITH i, $subject[i] AS s
MATCH (a:Entity {key: s})
WITH a, i
UNWIND $object[i] AS o
MATCH (b:Entity {key: o})
CREATE (a)-[:RELATES {memoryId: $id[i], predicate: $predicate[i], status: $status[i], validFrom: $validFrom[i],
  validTo: $validTo[i], recordedAt: $recordedAt[i], supersededAt: $supersededAt[i]}]->(b)`,
  allMemories: `MATCH (m:Memory) RETURN m.key AS key, m.tenant AS tenant, m.user AS user`,
  allEntities: `MATCH (e:Entity) RETURN e.key AS key`,
  allMessages: `MATCH (s:Message) RETURN s.key AS key`,
  existingMessages: `UNWIND $keys AS k
MATCH (s:Message {key: k})
RETURN s.key AS key`,
  /** New messages and their sources: `$memories[i]` holds the ids of the memories sourced from message i (never empty). */
  createMessagesWithSources: `WITH ${UNPACK.scope}
UNWIND range(1, $n) AS i
CREATE (s:Message {key: $key[i], tenant: tenants[i], user: users[i], messageId: $messageId[i]})
WITH s, i
UNWIND $memories[i] AS id
MATCH (m:Memory {key: id})
CREATE (m)-[:SOURCED_FROM]->(s)`,
  /** Sources from new memories to messages already in the graph, one row per message. */
  addSources: `UNWIND $rows AS r
MATCH (s:Message {key: r.key})
UNWIND CAST(r.ids AS STRING[]) AS id
MATCH (m:Memory {key: id})
CREATE (m)-[:SOURCED_FROM]->(s)`,
  /**
   * Links from memories created in this wave (none of their edges can exist yet), grouped by
   * source: `$targets[i]` holds the distinct targets of source i and `$weights[i]` their weights,
   * in the same order. Both ends were checked to be in the link's scope.
   */
  createLinks: `${LINK_ENDS}
CREATE (a)-[:ASSOCIATED {weight: $weights[i][list_position($targets[i], t)]}]->(b)`,
  /** Links from memories that existed before this wave, grouped by source as `createLinks`. */
  mergeLinks: `${LINK_ENDS}
MERGE (a)-[x:ASSOCIATED]->(b)
ON CREATE SET x.weight = $weights[i][list_position($targets[i], t)]
ON MATCH SET x.weight = $weights[i][list_position($targets[i], t)]`,
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

/** Rows per statement: bounds the size of one parameter. */
const CHUNK = 4096;

/** Runs a statement over `rows` in chunks; nothing for no rows. */
async function runRows(tx: CypherRunner, statement: string, rows: readonly Record<string, CypherValue>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await tx.run(statement, { rows: rows.slice(i, i + CHUNK) });
}

/** Column lists of equal length, one per property, for the `range(1, $n)` statements. */
export type Columns = Record<string, CypherValue[]>;

/**
 * Runs a column statement in chunks; nothing for no rows (an empty list has no element type).
 * The columns named in `packed` travel as one string each (see PACKED). When `nested` names a
 * column of lists that are all empty in a chunk, that chunk runs `plain` (the statement without
 * them) instead: such a list has no element type either.
 */
async function runColumns(
  tx: CypherRunner,
  statement: string,
  columns: Columns,
  packed: ReadonlySet<string>,
  nested?: string,
  plain?: string,
): Promise<void> {
  const n = Object.values(columns)[0]?.length ?? 0;
  for (let i = 0; i < n; i += CHUNK) {
    const params: Record<string, CypherValue> = { n: Math.min(CHUNK, n - i) };
    for (const [name, values] of Object.entries(columns)) {
      const chunk = values.slice(i, i + CHUNK);
      params[name] = packed.has(name) ? `[${chunk.join(',')}]` : chunk;
    }
    const lists = nested === undefined ? undefined : (params[nested] as readonly (readonly CypherValue[])[]);
    if (lists !== undefined && plain !== undefined && lists.every((l) => l.length === 0)) {
      delete params[nested as string];
      await tx.run(plain, params);
    } else {
      await tx.run(statement, params);
    }
  }
}

/** Keys among `keys` that exist as nodes (by the given lookup statement). */
async function existingKeys(tx: CypherRunner, statement: string, keys: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < keys.length; i += CHUNK) {
    for (const row of await tx.run(statement, { keys: keys.slice(i, i + CHUNK) })) out.add(row.key as string);
  }
  return out;
}

/** Reads the knowledge of a rebuild from the graph: every memory, entity and message node. */
export async function loadKnowledge(tx: CypherRunner): Promise<GraphKnowledge> {
  const k = emptyKnowledge();
  for (const r of await tx.run(STATEMENTS.allMemories, {})) k.memories.set(r.key as string, { tenant: r.tenant as string, user: r.user as string });
  for (const r of await tx.run(STATEMENTS.allEntities, {})) k.entities.add(r.key as string);
  for (const r of await tx.run(STATEMENTS.allMessages, {})) k.messages.add(r.key as string);
  return k;
}

/** Keys among `keys` that exist: from the knowledge when there is one, else by the lookup statement. */
async function knownKeys(tx: CypherRunner, statement: string, keys: readonly string[], known: ReadonlySet<string> | undefined): Promise<Set<string>> {
  return known === undefined ? existingKeys(tx, statement, keys) : new Set(keys.filter((k) => known.has(k)));
}

/** Creates a wave's fresh memories with their entities, mentions, fact edges and sources, then its links. */
async function writeWave(tx: CypherRunner, step: Extract<GraphStep, { kind: 'wave' }>, known?: GraphKnowledge): Promise<void> {
  const memories: Columns = { id: [], tenant: [], user: [], text: [], kind: [], status: [], validFrom: [], validTo: [], recordedAt: [], supersededAt: [] };
  const mentions: string[][] = [];
  const entities = new Map<string, { tenant: string; user: string; name: string }>();
  const facts: Columns = { id: [], subject: [], object: [], predicate: [], status: [], validFrom: [], validTo: [], recordedAt: [], supersededAt: [] };
  /** Message key → the message and the wave's memories sourced from it. */
  const messages = new Map<string, { tenant: string; user: string; messageId: string; memoryIds: string[] }>();
  /** Memory id → its scope, for the memories created in this wave. */
  const scopes = new Map<string, Scope>();
  for (const { scope, memory: m } of step.fresh) {
    validateMemory(scope, m);
    scopes.set(m.id, scope);
    const validTo = storedTime(m.validTo);
    const supersededAt = storedTime(m.supersededAt);
    const row: Record<string, CypherValue> = {
      id: m.id,
      tenant: scope.tenantId,
      user: scope.userId,
      text: m.text,
      kind: m.kind,
      status: m.status,
      validFrom: m.validFrom,
      validTo,
      recordedAt: m.recordedAt,
      supersededAt,
    };
    for (const [name, values] of Object.entries(memories)) values.push(row[name] as CypherValue);
    const keys: string[] = [];
    for (const e of entityRowsOf(scope, m)) {
      // The first spelling of a name seen is the one kept (as MERGE … ON CREATE SET does).
      if (!entities.has(e.key)) entities.set(e.key, { tenant: scope.tenantId, user: scope.userId, name: e.name });
      keys.push(e.key);
    }
    mentions.push(keys);
    const t = m.triple;
    if (t && entityNormOf(t.subject) !== '' && entityNormOf(t.object) !== '') {
      const fact: Record<string, CypherValue> = {
        id: m.id,
        subject: scopedKey(scope, entityNormOf(t.subject)),
        object: [scopedKey(scope, entityNormOf(t.object))],
        predicate: t.predicate,
        status: m.status,
        validFrom: m.validFrom,
        validTo,
        recordedAt: m.recordedAt,
        supersededAt,
      };
      for (const [name, values] of Object.entries(facts)) values.push(fact[name] as CypherValue);
    }
    for (const messageId of new Set(m.sourceMessageIds.filter((x) => typeof x === 'string' && x !== ''))) {
      const key = scopedKey(scope, messageId);
      const message = messages.get(key) ?? { tenant: scope.tenantId, user: scope.userId, messageId, memoryIds: [] };
      message.memoryIds.push(m.id);
      messages.set(key, message);
    }
  }

  // Entities first: the statement creating a memory looks up the entities it mentions.
  if (entities.size > 0) {
    const present = await knownKeys(tx, STATEMENTS.existingEntities, [...entities.keys()], known?.entities);
    const cols: Columns = { key: [], tenant: [], user: [], name: [] };
    for (const [key, e] of entities) {
      if (present.has(key)) continue;
      cols.key?.push(key);
      cols.tenant?.push(e.tenant);
      cols.user?.push(e.user);
      cols.name?.push(e.name);
    }
    await runColumns(tx, STATEMENTS.createEntities, cols, PACKED);
    for (const key of entities.keys()) known?.entities.add(key);
  }
  await runColumns(tx, STATEMENTS.createMemoriesWithMentions, { ...memories, entities: mentions }, PACKED, 'entities', STATEMENTS.createMemories);
  await runColumns(tx, STATEMENTS.createFactEdges, facts, UNPACKED);
  if (messages.size > 0) {
    const present = await knownKeys(tx, STATEMENTS.existingMessages, [...messages.keys()], known?.messages);
    const cols: Columns = { key: [], tenant: [], user: [], messageId: [], memories: [] };
    const toKnown: Record<string, CypherValue>[] = [];
    for (const [key, s] of messages) {
      if (present.has(key)) {
        toKnown.push({ key, ids: s.memoryIds });
        continue;
      }
      cols.key?.push(key);
      cols.tenant?.push(s.tenant);
      cols.user?.push(s.user);
      cols.messageId?.push(s.messageId);
      cols.memories?.push(s.memoryIds);
    }
    await runColumns(tx, STATEMENTS.createMessagesWithSources, cols, PACKED);
    await runRows(tx, STATEMENTS.addSources, toKnown);
    for (const key of messages.keys()) known?.messages.add(key);
  }
  for (const [id, scope] of scopes) known?.memories.set(id, { tenant: scope.tenantId, user: scope.userId });
  await writeWaveLinks(tx, step, scopes, known);
}

/**
 * A wave's links, after its memories: the last weight of a pair wins, as when each ClusterAssigned
 * ran on its own, and a link whose ends are not both memories of its scope is dropped (as the
 * scoped MATCH of the one-by-one statement drops it).
 */
async function writeWaveLinks(
  tx: CypherRunner,
  step: Extract<GraphStep, { kind: 'wave' }>,
  created: ReadonlyMap<string, Scope>,
  known?: GraphKnowledge,
): Promise<void> {
  const pairs = new Map<string, { scope: Scope; source: string; target: string; weight: number }>();
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
      pairs.set(key, { scope, source: memoryId, target: link.memoryId, weight: link.weight });
    }
  }
  if (pairs.size === 0) return;
  // Where every end lives: the wave's new memories are known; the others are looked up.
  const owners = new Map<string, { tenant: string; user: string }>();
  for (const [id, scope] of created) owners.set(id, { tenant: scope.tenantId, user: scope.userId });
  const ids = [...new Set([...pairs.values()].flatMap((p) => [p.source, p.target]))].filter((id) => !created.has(id));
  if (known !== undefined) {
    for (const id of ids) {
      const o = known.memories.get(id);
      if (o !== undefined) owners.set(id, o);
    }
  }
  for (let i = 0; known === undefined && i < ids.length; i += CHUNK) {
    for (const row of await tx.run(STATEMENTS.owners, { ids: ids.slice(i, i + CHUNK) })) {
      owners.set(row.key as string, { tenant: row.tenant as string, user: row.user as string });
    }
  }
  const inScope = (id: string, scope: Scope): boolean => {
    const o = owners.get(id);
    return o !== undefined && o.tenant === scope.tenantId && o.user === scope.userId;
  };
  const rows = [...pairs.values()].filter((p) => inScope(p.source, p.scope) && inScope(p.target, p.scope));
  // One statement per number kind: a list never mixes integer-valued and fractional weights.
  for (const whole of [true, false]) {
    const kind = rows.filter((r) => Number.isInteger(r.weight) === whole);
    await runColumns(tx, STATEMENTS.createLinks, linkColumns(kind.filter((r) => created.has(r.source))), UNPACKED);
    await runColumns(tx, STATEMENTS.mergeLinks, linkColumns(kind.filter((r) => !created.has(r.source))), UNPACKED);
  }
}

/**
 * Pure: links as the columns of `createLinks`/`mergeLinks`, grouped by source (first appearance
 * order). The pairs must be distinct, so that a target's position in its source's list is its own.
 */
export function linkColumns(links: readonly { source: string; target: string; weight: number }[]): Columns {
  const bySource = new Map<string, { targets: string[]; weights: number[] }>();
  for (const { source, target, weight } of links) {
    let group = bySource.get(source);
    if (group === undefined) bySource.set(source, (group = { targets: [], weights: [] }));
    group.targets.push(target);
    group.weights.push(weight);
  }
  const cols: { source: string[]; targets: string[][]; weights: number[][] } = { source: [], targets: [], weights: [] };
  for (const [source, group] of bySource) {
    cols.source.push(source);
    cols.targets.push(group.targets);
    cols.weights.push(group.weights);
  }
  return cols;
}

/**
 * Applies operations in order inside the caller's transaction (see the file comment). With
 * `known` (a rebuild's knowledge of the graph), nothing is looked up to tell new nodes from
 * existing ones, and `known` follows every node written or deleted.
 */
export async function applyGraphOps(tx: CypherRunner, ops: readonly GraphOp[], known?: GraphKnowledge): Promise<void> {
  const ids = [...new Set(ops.flatMap((o) => (o.op === 'upsert' ? [o.memory.id] : [])))];
  for (const id of ids) assertId('memory id', id);
  const existing = new Set<string>();
  if (known !== undefined) {
    for (const id of ids) if (known.memories.has(id)) existing.add(id);
  }
  for (let i = 0; known === undefined && i < ids.length; i += CHUNK) {
    for (const row of await tx.run(STATEMENTS.owners, { ids: ids.slice(i, i + CHUNK) })) existing.add(row.key as string);
  }
  for (const step of planGraphSteps(ops, existing)) {
    if (step.kind === 'wave') {
      await writeWave(tx, step, known);
      continue;
    }
    const op = step.op;
    if (op.op === 'status') await writeStatus(tx, op.scope, op.memoryId, op.status, op.validTo, op.supersededAt);
    else if (op.op === 'link') await writeLinks(tx, op.scope, op.memoryId, op.links);
    else if (known === undefined) await (op.op === 'upsert' ? writeMemory(tx, op.scope, op.memory) : eraseMemory(tx, op.scope, op.memoryId));
    else await rewriteKnown(tx, op, known);
  }
}

/**
 * A memory re-written or erased during a rebuild: the shared statement runs, then the entities
 * and messages it mentioned before or mentions now are looked up again (either may have been
 * created, or deleted as orphans).
 */
async function rewriteKnown(tx: CypherRunner, op: Extract<GraphOp, { op: 'upsert' | 'remove' }>, known: GraphKnowledge): Promise<void> {
  const scope = op.scope;
  const id = op.op === 'upsert' ? op.memory.id : op.memoryId;
  const base = { tenant: scope.tenantId, user: scope.userId, id };
  const entities = new Set<string>();
  const messages = new Set<string>();
  if (known.memories.has(id)) {
    for (const r of await tx.run(CYPHER.memoryEntityKeys, base)) entities.add(r.key as string);
    for (const r of await tx.run(CYPHER.memoryMessageKeys, base)) messages.add(r.key as string);
  }
  if (op.op === 'upsert') {
    await writeMemory(tx, scope, op.memory);
    for (const e of entityRowsOf(scope, op.memory)) entities.add(e.key);
    for (const m of op.memory.sourceMessageIds) if (typeof m === 'string' && m !== '') messages.add(scopedKey(scope, m));
    known.memories.set(id, { tenant: scope.tenantId, user: scope.userId });
  } else {
    await eraseMemory(tx, scope, id);
    known.memories.delete(id);
  }
  const liveEntities = await existingKeys(tx, STATEMENTS.existingEntities, [...entities]);
  for (const key of entities) {
    if (liveEntities.has(key)) known.entities.add(key);
    else known.entities.delete(key);
  }
  const liveMessages = await existingKeys(tx, STATEMENTS.existingMessages, [...messages]);
  for (const key of messages) {
    if (liveMessages.has(key)) known.messages.add(key);
    else known.messages.delete(key);
  }
}
