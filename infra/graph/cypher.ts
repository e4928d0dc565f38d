/**
 * The memory graph in Cypher, written once for LadybugDB and Neo4j (DESIGN.md §2): the graph model,
 * every statement the projector and the read side run, and the engine-neutral operations over them.
 * An adapter supplies a `CypherRunner` (one statement, plain parameters, plain rows), transactions
 * and its own schema set-up; everything else lives here so that both engines behave the same.
 *
 * Subset rules: `MERGE … ON CREATE SET … ON MATCH SET`, `UNWIND $rows`, `$params`; no `SET n += map`,
 * `REMOVE`, map projections, `CALL {}`, multiple labels, `type(r)` or `timestamp()`; no parameters
 * inside list predicates (LadybugDB rejects them); times are integer parameters; a list parameter
 * never mixes integer-valued and fractional numbers in one field (LadybugDB rejects that).
 * Data (tenant, user, entity names, texts) is only ever a parameter, never query text.
 */
import { ValidationError } from '../../core/errors.js';
import type { AssociationLink, MemoryStatus } from '../../core/model.js';
import { MEMORY_STATUSES } from '../../core/model.js';
import type { GraphEdge, GraphMemory, GraphNode, Neighbourhood, ScoredId } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import { assertScopeId } from '../../core/scope.js';

// ---------------------------------------------------------------- model

/** Stored for an open end (`validTo`/`supersededAt` = null): the largest JS Date, an int64 in both engines. */
export const OPEN_END = 8_640_000_000_000_000;

/** Largest depth a neighbourhood query may ask for. */
export const MAX_DEPTH = 3;

/** Largest `limit` honoured by `related` and `entities`. */
export const MAX_LIMIT = 10_000;

/** Property types an adapter maps to its own column types (LadybugDB) or ignores (Neo4j). */
export type PropertyType = 'string' | 'int' | 'float';

/** A node label: its primary key is always `key` (a string). */
export interface NodeSchema {
  readonly properties: Readonly<Record<string, PropertyType>>;
}

/** A relationship type between two labels. */
export interface RelSchema {
  readonly from: string;
  readonly to: string;
  readonly properties: Readonly<Record<string, PropertyType>>;
}

/**
 * The graph model. Keys: Memory = memory id; Entity = tenant|user|normalised name;
 * Message = tenant|user|message id; Checkpoint = projector␟topic␟partition.
 * RELATES is the bi-temporal fact edge (Graphiti-style), one per memory with a triple.
 */
export const GRAPH_SCHEMA = {
  nodes: {
    Memory: {
      properties: {
        key: 'string',
        tenant: 'string',
        user: 'string',
        text: 'string',
        kind: 'string',
        status: 'string',
        validFrom: 'int',
        validTo: 'int',
        recordedAt: 'int',
        supersededAt: 'int',
      },
    },
    Entity: { properties: { key: 'string', tenant: 'string', user: 'string', name: 'string' } },
    Message: { properties: { key: 'string', tenant: 'string', user: 'string', messageId: 'string' } },
    Checkpoint: {
      properties: { key: 'string', projector: 'string', topic: 'string', partition: 'int', nextOffset: 'int' },
    },
  },
  rels: {
    MENTIONS: { from: 'Memory', to: 'Entity', properties: {} },
    RELATES: {
      from: 'Entity',
      to: 'Entity',
      properties: {
        predicate: 'string',
        memoryId: 'string',
        status: 'string',
        validFrom: 'int',
        validTo: 'int',
        recordedAt: 'int',
        supersededAt: 'int',
      },
    },
    ASSOCIATED: { from: 'Memory', to: 'Memory', properties: { weight: 'float' } },
    SOURCED_FROM: { from: 'Memory', to: 'Message', properties: {} },
  },
} as const satisfies {
  nodes: Readonly<Record<string, NodeSchema>>;
  rels: Readonly<Record<string, RelSchema>>;
};

/** Converts a port time (null = open) to its stored form. */
export function storedTime(t: number | null): number {
  return t === null ? OPEN_END : t;
}

/** Converts a stored time back to the port form (the sentinel, or a missing value, becomes null). */
export function portTime(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number') throw new TypeError(`expected a stored time, got ${typeof v}`);
  return n >= OPEN_END ? null : n;
}

/**
 * Normalised entity name: NFKC, lower case, white space collapsed. Punctuation is kept, so that
 * distinct hostile names ("a`b", "a'b") stay distinct; the verbatim name is stored beside it.
 */
export function entityNormOf(name: string): string {
  return name.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

/** A node key scoped to a user: tenant and user ids cannot contain `|`, so the key is unambiguous. */
export function scopedKey(scope: Scope, part: string): string {
  return `${scope.tenantId}|${scope.userId}|${part}`;
}

/** The id an Entity node has in a Neighbourhood (memory nodes use the memory id). */
export function entityNodeId(norm: string): string {
  return `entity:${norm}`;
}

/** The key of a projector's checkpoint for one partition. */
export function checkpointKey(projector: string, topic: string, partition: number): string {
  return `${projector}\u001f${topic}\u001f${partition}`;
}

// ---------------------------------------------------------------- statements

/** Every statement the graph runs. `$tenant` and `$user` scope every statement that touches memory data. */
export const CYPHER = Object.freeze({
  // --- upsert
  /** The scope a memory id already belongs to, if any (a memory id never changes scope). */
  memoryScope: `MATCH (m:Memory {key: $id}) RETURN m.tenant AS tenant, m.user AS user`,
  /** Keys of the entities a memory mentions. */
  memoryEntityKeys: `MATCH (m:Memory {key: $id})-[:MENTIONS]->(e:Entity)
WHERE m.tenant = $tenant AND m.user = $user AND e.tenant = $tenant AND e.user = $user
RETURN e.key AS key`,
  /** Keys of the messages a memory is sourced from. */
  memoryMessageKeys: `MATCH (m:Memory {key: $id})-[:SOURCED_FROM]->(s:Message)
WHERE m.tenant = $tenant AND m.user = $user AND s.tenant = $tenant AND s.user = $user
RETURN s.key AS key`,
  deleteMentions: `MATCH (m:Memory {key: $id})-[x:MENTIONS]->(:Entity)
WHERE m.tenant = $tenant AND m.user = $user
DELETE x`,
  deleteSources: `MATCH (m:Memory {key: $id})-[x:SOURCED_FROM]->(:Message)
WHERE m.tenant = $tenant AND m.user = $user
DELETE x`,
  /**
   * The fact edge of a memory. Its ends are always among the entities the memory mentions, so the
   * match starts from the memory (an index lookup) instead of scanning every fact edge.
   */
  deleteFactEdges: `MATCH (m:Memory {key: $id})-[:MENTIONS]->(a:Entity)-[r:RELATES]->(b:Entity)
WHERE r.memoryId = $id AND m.tenant = $tenant AND m.user = $user
  AND b.tenant = $tenant AND b.user = $user
DELETE r`,
  mergeMemory: `MERGE (m:Memory {key: $id, tenant: $tenant, user: $user})
ON CREATE SET m.text = $text, m.kind = $kind, m.status = $status, m.validFrom = $validFrom,
  m.validTo = $validTo, m.recordedAt = $recordedAt, m.supersededAt = $supersededAt
ON MATCH SET m.text = $text, m.kind = $kind, m.status = $status, m.validFrom = $validFrom,
  m.validTo = $validTo, m.recordedAt = $recordedAt, m.supersededAt = $supersededAt`,
  /** `$entities`: [{key, name}]. The first spelling of a name seen is the one kept. */
  mergeMentions: `MATCH (m:Memory {key: $id})
WHERE m.tenant = $tenant AND m.user = $user
UNWIND $entities AS ent
MERGE (e:Entity {key: ent.key, tenant: $tenant, user: $user})
ON CREATE SET e.name = ent.name
MERGE (m)-[:MENTIONS]->(e)`,
  /** Each end is its own MATCH: LadybugDB plans a comma-joined MATCH as a scan and join, hundreds of times slower. */
  mergeFactEdge: `MATCH (a:Entity {key: $subjectKey})
WHERE a.tenant = $tenant AND a.user = $user
MATCH (b:Entity {key: $objectKey})
WHERE b.tenant = $tenant AND b.user = $user
MERGE (a)-[r:RELATES {memoryId: $id}]->(b)
ON CREATE SET r.predicate = $predicate, r.status = $status, r.validFrom = $validFrom, r.validTo = $validTo,
  r.recordedAt = $recordedAt, r.supersededAt = $supersededAt
ON MATCH SET r.predicate = $predicate, r.status = $status, r.validFrom = $validFrom, r.validTo = $validTo,
  r.recordedAt = $recordedAt, r.supersededAt = $supersededAt`,
  /** `$messages`: [{key, messageId}]. */
  mergeSources: `MATCH (m:Memory {key: $id})
WHERE m.tenant = $tenant AND m.user = $user
UNWIND $messages AS msg
MERGE (s:Message {key: msg.key, tenant: $tenant, user: $user})
ON CREATE SET s.messageId = msg.messageId
MERGE (m)-[:SOURCED_FROM]->(s)`,
  /** Deletes those of `$keys` that no memory mentions any more. */
  deleteOrphanEntities: `UNWIND $keys AS k
MATCH (e:Entity {key: k})
WHERE e.tenant = $tenant AND e.user = $user
OPTIONAL MATCH (e)<-[x:MENTIONS]-(:Memory)
WITH e, count(x) AS mentions
WHERE mentions = 0
DETACH DELETE e`,
  /** Deletes those of `$keys` that no memory is sourced from any more. */
  deleteOrphanMessages: `UNWIND $keys AS k
MATCH (s:Message {key: k})
WHERE s.tenant = $tenant AND s.user = $user
OPTIONAL MATCH (s)<-[x:SOURCED_FROM]-(:Memory)
WITH s, count(x) AS sources
WHERE sources = 0
DETACH DELETE s`,

  // --- lifecycle
  setMemoryStatus: `MATCH (m:Memory {key: $id})
WHERE m.tenant = $tenant AND m.user = $user
SET m.status = $status, m.validTo = $validTo, m.supersededAt = $supersededAt`,
  setFactEdgeStatus: `MATCH (m:Memory {key: $id})-[:MENTIONS]->(a:Entity)-[r:RELATES]->(b:Entity)
WHERE r.memoryId = $id AND m.tenant = $tenant AND m.user = $user
  AND b.tenant = $tenant AND b.user = $user
SET r.status = $status, r.validTo = $validTo, r.supersededAt = $supersededAt`,
  /** `$links`: [{memoryId, weight}], weights all integer-valued or all fractional (see file comment). */
  mergeLinks: `MATCH (a:Memory {key: $id})
WHERE a.tenant = $tenant AND a.user = $user
UNWIND $links AS link
MATCH (b:Memory {key: link.memoryId})
WHERE b.tenant = $tenant AND b.user = $user
MERGE (a)-[x:ASSOCIATED]->(b)
ON CREATE SET x.weight = link.weight
ON MATCH SET x.weight = link.weight`,
  /** Erasure: the node and every edge on it. */
  deleteMemory: `MATCH (m:Memory {key: $id})
WHERE m.tenant = $tenant AND m.user = $user
DETACH DELETE m`,

  // --- neighbourhood: breadth-first, one hop per round, so cost follows the result and not the paths
  /** Memories mentioning any of `$keys`. */
  hopMemoriesOfEntities: `MATCH (m:Memory)-[:MENTIONS]->(e:Entity)
WHERE e.key IN $keys AND e.tenant = $tenant AND e.user = $user
  AND m.tenant = $tenant AND m.user = $user AND ($includeInactive OR m.status = 'active')
RETURN DISTINCT m.key AS key`,
  /** Entities joined to any of `$keys` by a fact edge, in either direction. */
  hopEntitiesOfEntities: `MATCH (e:Entity)-[r:RELATES]-(o:Entity)
WHERE e.key IN $keys AND e.tenant = $tenant AND e.user = $user
  AND o.tenant = $tenant AND o.user = $user AND ($includeInactive OR r.status = 'active')
RETURN DISTINCT o.key AS key`,
  /** Entities mentioned by any of `$keys` (memories). */
  hopEntitiesOfMemories: `MATCH (m:Memory)-[:MENTIONS]->(e:Entity)
WHERE m.key IN $keys AND m.tenant = $tenant AND m.user = $user AND e.tenant = $tenant AND e.user = $user
RETURN DISTINCT e.key AS key`,
  entitiesByKey: `MATCH (e:Entity)
WHERE e.key IN $keys AND e.tenant = $tenant AND e.user = $user
RETURN e.key AS key, e.name AS name`,
  memoriesByKey: `MATCH (m:Memory)
WHERE m.key IN $keys AND m.tenant = $tenant AND m.user = $user
RETURN m.key AS key, m.text AS text, m.status AS status`,
  mentionEdgesAmong: `MATCH (m:Memory)-[:MENTIONS]->(e:Entity)
WHERE m.key IN $memoryKeys AND e.key IN $entityKeys
  AND m.tenant = $tenant AND m.user = $user AND e.tenant = $tenant AND e.user = $user
RETURN m.key AS src, e.key AS dst`,
  factEdgesAmong: `MATCH (a:Entity)-[r:RELATES]->(b:Entity)
WHERE a.key IN $entityKeys AND b.key IN $entityKeys
  AND a.tenant = $tenant AND a.user = $user AND b.tenant = $tenant AND b.user = $user
  AND ($includeInactive OR r.status = 'active')
RETURN a.key AS src, b.key AS dst, r.predicate AS predicate, r.memoryId AS memoryId,
  r.validFrom AS validFrom, r.validTo AS validTo`,
  associationEdgesAmong: `MATCH (a:Memory)-[x:ASSOCIATED]->(b:Memory)
WHERE a.key IN $memoryKeys AND b.key IN $memoryKeys
  AND a.tenant = $tenant AND a.user = $user AND b.tenant = $tenant AND b.user = $user
RETURN a.key AS src, b.key AS dst, x.weight AS weight`,

  // --- expansion and listings
  /** Active memories (not in `$ids`) sharing entities with the memories `$ids`. */
  relatedByEntities: `MATCH (s:Memory)-[:MENTIONS]->(e:Entity)<-[:MENTIONS]-(m:Memory)
WHERE s.key IN $ids AND s.tenant = $tenant AND s.user = $user
  AND e.tenant = $tenant AND e.user = $user
  AND m.tenant = $tenant AND m.user = $user AND m.status = 'active' AND NOT m.key IN $ids
RETURN m.key AS id, count(DISTINCT e) AS shared`,
  /** Active memories (not in `$ids`) associated, in either direction, with the memories `$ids`. */
  relatedByAssociation: `MATCH (s:Memory)-[x:ASSOCIATED]-(m:Memory)
WHERE s.key IN $ids AND s.tenant = $tenant AND s.user = $user
  AND m.tenant = $tenant AND m.user = $user AND m.status = 'active' AND NOT m.key IN $ids
RETURN s.key AS seed, m.key AS id, x.weight AS weight`,
  /** Entity names by the number of active memories mentioning them. */
  entityMentions: `MATCH (m:Memory)-[x:MENTIONS]->(e:Entity)
WHERE e.tenant = $tenant AND e.user = $user AND m.tenant = $tenant AND m.user = $user AND m.status = 'active'
RETURN e.name AS name, count(x) AS mentions
ORDER BY mentions DESC, name ASC
LIMIT $limit`,

  // --- checkpoints and maintenance
  readCheckpoint: `MATCH (c:Checkpoint {key: $key}) RETURN c.nextOffset AS nextOffset`,
  writeCheckpoint: `MERGE (c:Checkpoint {key: $key})
ON CREATE SET c.projector = $projector, c.topic = $topic, c.partition = $partition, c.nextOffset = $nextOffset
ON MATCH SET c.nextOffset = $nextOffset`,
  deleteCheckpoints: `MATCH (c:Checkpoint) WHERE c.projector = $projector DELETE c`,
  clearMemories: `MATCH (n:Memory) DETACH DELETE n`,
  clearEntities: `MATCH (n:Entity) DETACH DELETE n`,
  clearMessages: `MATCH (n:Message) DETACH DELETE n`,
});

// ---------------------------------------------------------------- runner

/** A parameter value both engines accept. */
export type CypherValue =
  | string
  | number
  | boolean
  | null
  | readonly CypherValue[]
  | { readonly [key: string]: CypherValue };

export type CypherParams = Readonly<Record<string, CypherValue>>;

/** A result row: integers as JS numbers, strings, booleans, null. */
export type CypherRow = Readonly<Record<string, unknown>>;

/** Runs one statement inside whatever transaction the adapter opened. */
export interface CypherRunner {
  run(statement: string, params: CypherParams): Promise<CypherRow[]>;
}

function str(row: CypherRow, col: string): string {
  const v = row[col];
  if (typeof v !== 'string') throw new TypeError(`column ${col}: expected a string, got ${v === null ? 'null' : typeof v}`);
  return v;
}

function num(row: CypherRow, col: string): number {
  const v = row[col];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new TypeError(`column ${col}: expected a number, got ${v === null ? 'null' : typeof v}`);
}

// ---------------------------------------------------------------- validation

function scopeParams(scope: Scope): { tenant: string; user: string } {
  assertScopeId('tenant', scope.tenantId);
  assertScopeId('user', scope.userId);
  return { tenant: scope.tenantId, user: scope.userId };
}

function assertId(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(`${field} must be a non-empty string`, { field });
}

function assertTime(field: string, value: unknown, nullable: boolean): asserts value is number | null {
  if (value === null && nullable) return;
  // Integers only: a fractional time would change the parameter's type in LadybugDB.
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value >= OPEN_END || value <= -OPEN_END) {
    throw new ValidationError(`${field} must be an integer time in ms${nullable ? ' or null' : ''}`, { field });
  }
}

function assertStatus(value: unknown): asserts value is MemoryStatus {
  if (!(MEMORY_STATUSES as readonly unknown[]).includes(value)) {
    throw new ValidationError(`status must be one of ${MEMORY_STATUSES.join(', ')}`, { field: 'status' });
  }
}

function assertLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) {
    throw new ValidationError('limit must be a non-negative integer', { field: 'limit' });
  }
  return Math.min(limit, MAX_LIMIT);
}

/** Distinct entities of a memory (its names plus its triple's ends), first spelling kept, empties dropped. */
export function entityRowsOf(scope: Scope, memory: GraphMemory): { key: string; name: string }[] {
  const names = [...memory.entities];
  if (memory.triple) names.push(memory.triple.subject, memory.triple.object);
  const rows = new Map<string, { key: string; name: string }>();
  for (const name of names) {
    if (typeof name !== 'string') throw new ValidationError('entity names must be strings', { field: 'entities' });
    const norm = entityNormOf(name);
    if (norm === '') continue;
    const key = scopedKey(scope, norm);
    if (!rows.has(key)) rows.set(key, { key, name });
  }
  return [...rows.values()];
}

// ---------------------------------------------------------------- writes

/** Creates or replaces a memory with its mentions, fact edge and sources (run inside one transaction). */
export async function writeMemory(tx: CypherRunner, scope: Scope, memory: GraphMemory): Promise<void> {
  const sp = scopeParams(scope);
  assertId('memory id', memory.id);
  if (typeof memory.text !== 'string') throw new ValidationError('text must be a string', { field: 'text' });
  assertId('kind', memory.kind);
  assertStatus(memory.status);
  assertTime('validFrom', memory.validFrom, false);
  assertTime('validTo', memory.validTo, true);
  assertTime('recordedAt', memory.recordedAt, false);
  assertTime('supersededAt', memory.supersededAt, true);
  const id = memory.id;
  const base = { ...sp, id };

  // The one read that is not scoped: memory ids are global keys, and one must never change scope.
  const owners = await tx.run(CYPHER.memoryScope, { id });
  for (const row of owners) {
    if (str(row, 'tenant') !== sp.tenant || str(row, 'user') !== sp.user) {
      // Memory ids are scoped UUIDs; a clash means a bug or an attack, never a move between users.
      throw new ValidationError(`memory ${id} belongs to another scope`, { field: 'id' });
    }
  }

  // A new memory (the common case, and every case in a rebuild) has nothing to replace.
  let oldEntities: string[] = [];
  let oldMessages: string[] = [];
  if (owners.length > 0) {
    oldEntities = (await tx.run(CYPHER.memoryEntityKeys, base)).map((r) => str(r, 'key'));
    oldMessages = (await tx.run(CYPHER.memoryMessageKeys, base)).map((r) => str(r, 'key'));
    await tx.run(CYPHER.deleteFactEdges, base); // before the mentions it is found through
    await tx.run(CYPHER.deleteMentions, base);
    await tx.run(CYPHER.deleteSources, base);
  }

  const validTo = storedTime(memory.validTo);
  const supersededAt = storedTime(memory.supersededAt);
  await tx.run(CYPHER.mergeMemory, {
    ...base,
    text: memory.text,
    kind: memory.kind,
    status: memory.status,
    validFrom: memory.validFrom,
    validTo,
    recordedAt: memory.recordedAt,
    supersededAt,
  });

  const entities = entityRowsOf(scope, memory);
  if (entities.length > 0) await tx.run(CYPHER.mergeMentions, { ...base, entities });

  const t = memory.triple;
  if (t && entityNormOf(t.subject) !== '' && entityNormOf(t.object) !== '') {
    await tx.run(CYPHER.mergeFactEdge, {
      ...base,
      subjectKey: scopedKey(scope, entityNormOf(t.subject)),
      objectKey: scopedKey(scope, entityNormOf(t.object)),
      predicate: t.predicate,
      status: memory.status,
      validFrom: memory.validFrom,
      validTo,
      recordedAt: memory.recordedAt,
      supersededAt,
    });
  }

  const messages = [...new Set(memory.sourceMessageIds.filter((m) => typeof m === 'string' && m !== ''))].map(
    (messageId) => ({ key: scopedKey(scope, messageId), messageId }),
  );
  if (messages.length > 0) await tx.run(CYPHER.mergeSources, { ...base, messages });

  if (oldEntities.length > 0) await tx.run(CYPHER.deleteOrphanEntities, { ...sp, keys: oldEntities });
  if (oldMessages.length > 0) await tx.run(CYPHER.deleteOrphanMessages, { ...sp, keys: oldMessages });
}

/** Sets lifecycle and validity of a memory and its fact edge (no-op when absent from this scope). */
export async function writeStatus(
  tx: CypherRunner,
  scope: Scope,
  memoryId: string,
  status: MemoryStatus,
  validTo: number | null,
  supersededAt: number | null,
): Promise<void> {
  const sp = scopeParams(scope);
  assertId('memory id', memoryId);
  assertStatus(status);
  assertTime('validTo', validTo, true);
  assertTime('supersededAt', supersededAt, true);
  const params = { ...sp, id: memoryId, status, validTo: storedTime(validTo), supersededAt: storedTime(supersededAt) };
  await tx.run(CYPHER.setMemoryStatus, params);
  await tx.run(CYPHER.setFactEdgeStatus, params);
}

/** Upserts weighted association edges from a memory to memories of the same scope that exist. */
export async function writeLinks(
  tx: CypherRunner,
  scope: Scope,
  memoryId: string,
  links: readonly AssociationLink[],
): Promise<void> {
  const sp = scopeParams(scope);
  assertId('memory id', memoryId);
  const byTarget = new Map<string, number>();
  for (const link of links) {
    assertId('link memory id', link.memoryId);
    if (typeof link.weight !== 'number' || !Number.isFinite(link.weight)) {
      throw new ValidationError('link weight must be a finite number', { field: 'weight' });
    }
    if (link.memoryId !== memoryId) byTarget.set(link.memoryId, link.weight);
  }
  const rows = [...byTarget].map(([target, weight]) => ({ memoryId: target, weight }));
  // One batch per number kind, so that no list mixes integer-valued and fractional weights.
  const whole = rows.filter((r) => Number.isInteger(r.weight));
  const fractional = rows.filter((r) => !Number.isInteger(r.weight));
  for (const batch of [whole, fractional]) {
    if (batch.length > 0) await tx.run(CYPHER.mergeLinks, { ...sp, id: memoryId, links: batch });
  }
}

/** Erases a memory: its node, every edge on it, its fact edge, and entities and messages left orphaned. */
export async function eraseMemory(tx: CypherRunner, scope: Scope, memoryId: string): Promise<void> {
  const sp = scopeParams(scope);
  assertId('memory id', memoryId);
  const base = { ...sp, id: memoryId };
  const entities = (await tx.run(CYPHER.memoryEntityKeys, base)).map((r) => str(r, 'key'));
  const messages = (await tx.run(CYPHER.memoryMessageKeys, base)).map((r) => str(r, 'key'));
  await tx.run(CYPHER.deleteFactEdges, base);
  await tx.run(CYPHER.deleteMemory, base);
  if (entities.length > 0) await tx.run(CYPHER.deleteOrphanEntities, { ...sp, keys: entities });
  if (messages.length > 0) await tx.run(CYPHER.deleteOrphanMessages, { ...sp, keys: messages });
}

// ---------------------------------------------------------------- reads

function without(keys: Iterable<string>, seen: ReadonlySet<string>): string[] {
  return [...new Set(keys)].filter((k) => !seen.has(k));
}

/** Entities and memories within `depth` hops of an entity, with the edges among them. */
export async function readNeighbourhood(
  tx: CypherRunner,
  scope: Scope,
  entity: string,
  depth: number,
  includeInactive: boolean,
): Promise<Neighbourhood> {
  const sp = scopeParams(scope);
  if (typeof entity !== 'string') throw new ValidationError('entity must be a string', { field: 'entity' });
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH) {
    throw new ValidationError(`depth must be an integer from 1 to ${MAX_DEPTH}`, { field: 'depth' });
  }
  const norm = entityNormOf(entity);
  if (norm === '') return { nodes: [], edges: [] };
  const prefix = scopedKey(scope, '');
  const start = scopedKey(scope, norm);
  const startRows = await tx.run(CYPHER.entitiesByKey, { ...sp, keys: [start] });
  if (startRows.length === 0) return { nodes: [], edges: [] };

  const entityKeys = new Set<string>([start]);
  const memoryKeys = new Set<string>();
  let entityFrontier = [start];
  let memoryFrontier: string[] = [];
  for (let hop = 0; hop < depth && (entityFrontier.length > 0 || memoryFrontier.length > 0); hop++) {
    const keyOf = (rows: CypherRow[]): string[] => rows.map((r) => str(r, 'key'));
    const memories =
      entityFrontier.length > 0
        ? keyOf(await tx.run(CYPHER.hopMemoriesOfEntities, { ...sp, keys: entityFrontier, includeInactive }))
        : [];
    const related =
      entityFrontier.length > 0
        ? keyOf(await tx.run(CYPHER.hopEntitiesOfEntities, { ...sp, keys: entityFrontier, includeInactive }))
        : [];
    const mentioned =
      memoryFrontier.length > 0 ? keyOf(await tx.run(CYPHER.hopEntitiesOfMemories, { ...sp, keys: memoryFrontier })) : [];
    memoryFrontier = without(memories, memoryKeys);
    entityFrontier = without([...related, ...mentioned], entityKeys);
    for (const k of memoryFrontier) memoryKeys.add(k);
    for (const k of entityFrontier) entityKeys.add(k);
  }

  const eKeys = [...entityKeys];
  const mKeys = [...memoryKeys];
  const entityId = (key: string): string => entityNodeId(key.slice(prefix.length));
  const nodes: GraphNode[] = [];
  for (const r of await tx.run(CYPHER.entitiesByKey, { ...sp, keys: eKeys })) {
    nodes.push({ id: entityId(str(r, 'key')), label: 'Entity', name: str(r, 'name') });
  }
  const edges: GraphEdge[] = [];
  if (mKeys.length > 0) {
    for (const r of await tx.run(CYPHER.memoriesByKey, { ...sp, keys: mKeys })) {
      const status = str(r, 'status');
      assertStatus(status);
      nodes.push({ id: str(r, 'key'), label: 'Memory', name: str(r, 'text'), status });
    }
    const among = { ...sp, memoryKeys: mKeys, entityKeys: eKeys };
    for (const r of await tx.run(CYPHER.mentionEdgesAmong, among)) {
      edges.push({ from: str(r, 'src'), to: entityId(str(r, 'dst')), type: 'MENTIONS' });
    }
    for (const r of await tx.run(CYPHER.associationEdgesAmong, { ...sp, memoryKeys: mKeys })) {
      edges.push({ from: str(r, 'src'), to: str(r, 'dst'), type: 'ASSOCIATED', weight: num(r, 'weight') });
    }
  }
  for (const r of await tx.run(CYPHER.factEdgesAmong, { ...sp, entityKeys: eKeys, includeInactive })) {
    edges.push({
      from: entityId(str(r, 'src')),
      to: entityId(str(r, 'dst')),
      type: 'RELATES',
      predicate: str(r, 'predicate'),
      memoryId: str(r, 'memoryId'),
      validFrom: num(r, 'validFrom'),
      validTo: portTime(r['validTo']),
    });
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  nodes.sort((a, b) => cmp(a.label, b.label) || cmp(a.id, b.id));
  edges.sort((a, b) => cmp(a.type, b.type) || cmp(a.from, b.from) || cmp(a.to, b.to) || cmp(a.memoryId ?? '', b.memoryId ?? ''));
  return { nodes, edges };
}

/**
 * Pure: related() scores. A memory scores one per entity it shares with the seeds, plus, per seed
 * associated with it, the strongest association weight between the two. Ties break by id.
 */
export function scoreRelated(
  shared: readonly { id: string; shared: number }[],
  associated: readonly { seed: string; id: string; weight: number }[],
  limit: number,
): ScoredId[] {
  const scores = new Map<string, number>();
  for (const s of shared) scores.set(s.id, (scores.get(s.id) ?? 0) + s.shared);
  const strongest = new Map<string, { id: string; weight: number }>();
  for (const a of associated) {
    const pair = `${a.seed}\u001f${a.id}`;
    const prev = strongest.get(pair);
    if (!prev || a.weight > prev.weight) strongest.set(pair, { id: a.id, weight: a.weight });
  }
  for (const { id, weight } of strongest.values()) scores.set(id, (scores.get(id) ?? 0) + weight);
  return [...scores]
    .map(([id, score]) => ({ id, score }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, limit);
}

/** Active memories linked to `memoryIds` through shared entities or associations, best first. */
export async function readRelated(
  tx: CypherRunner,
  scope: Scope,
  memoryIds: readonly string[],
  limit: number,
): Promise<ScoredId[]> {
  const sp = scopeParams(scope);
  const max = assertLimit(limit);
  const ids = [...new Set(memoryIds.filter((id) => typeof id === 'string' && id !== ''))];
  if (ids.length === 0 || max === 0) return [];
  const shared = (await tx.run(CYPHER.relatedByEntities, { ...sp, ids })).map((r) => ({
    id: str(r, 'id'),
    shared: num(r, 'shared'),
  }));
  const associated = (await tx.run(CYPHER.relatedByAssociation, { ...sp, ids })).map((r) => ({
    seed: str(r, 'seed'),
    id: str(r, 'id'),
    weight: num(r, 'weight'),
  }));
  return scoreRelated(shared, associated, max);
}

/** A user's entities by the number of active memories mentioning them, most first, then by name. */
export async function readEntities(
  tx: CypherRunner,
  scope: Scope,
  limit: number,
): Promise<{ name: string; mentions: number }[]> {
  const sp = scopeParams(scope);
  const max = assertLimit(limit);
  if (max === 0) return [];
  return (await tx.run(CYPHER.entityMentions, { ...sp, limit: max })).map((r) => ({
    name: str(r, 'name'),
    mentions: num(r, 'mentions'),
  }));
}

// ---------------------------------------------------------------- checkpoints and maintenance

function checkpointParams(projector: string, topic: string, partition: number): { key: string } {
  assertId('projector', projector);
  assertId('topic', topic);
  if (!Number.isSafeInteger(partition) || partition < 0) {
    throw new ValidationError('partition must be a non-negative integer', { field: 'partition' });
  }
  return { key: checkpointKey(projector, topic, partition) };
}

/** The saved next offset of a projector for a partition (0 when none). */
export async function readCheckpoint(tx: CypherRunner, projector: string, topic: string, partition: number): Promise<number> {
  const rows = await tx.run(CYPHER.readCheckpoint, checkpointParams(projector, topic, partition));
  const row = rows[0];
  return row ? num(row, 'nextOffset') : 0;
}

/** Saves a projector's next offset for a partition. */
export async function writeCheckpoint(
  tx: CypherRunner,
  projector: string,
  topic: string,
  partition: number,
  nextOffset: number,
): Promise<void> {
  const params = checkpointParams(projector, topic, partition);
  if (!Number.isSafeInteger(nextOffset) || nextOffset < 0) {
    throw new ValidationError('nextOffset must be a non-negative integer', { field: 'nextOffset' });
  }
  await tx.run(CYPHER.writeCheckpoint, { ...params, projector, topic, partition, nextOffset });
}

/** Drops every checkpoint of a projector (for replay). */
export async function deleteCheckpoints(tx: CypherRunner, projector: string): Promise<void> {
  assertId('projector', projector);
  await tx.run(CYPHER.deleteCheckpoints, { projector });
}

/** Drops every memory, entity and message (checkpoints are kept: they belong to their projector). */
export async function clearGraph(tx: CypherRunner): Promise<void> {
  await tx.run(CYPHER.clearMemories, {});
  await tx.run(CYPHER.clearEntities, {});
  await tx.run(CYPHER.clearMessages, {});
}
