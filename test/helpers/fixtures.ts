/** Builders of candidates, memory states, graph memories and index documents for tests. */
import type { Memory, SourceRef, Triple } from '../../core/model.js';
import type { AssociatedCandidate } from '../../core/pipeline.js';
import type { GraphMemory, MemoryState, VectorDoc } from '../../core/ports.js';
import { textHashOf } from '../../core/text.js';

/** A source reference to a message of one test conversation. */
export const src = (messageId: string): SourceRef => ({
  eventId: `ev-${messageId}`,
  messageId,
  conversationId: 'conv',
  sessionId: 'sess',
  topic: 'conversation-events',
  partition: 0,
  offset: 0,
});

/** A subject-predicate-object triple. */
export const tri = (subject: string, predicate: string, object: string): Triple => ({ subject, predicate, object });

/** A user-stated fact candidate from message `msg-<id>`; `over` replaces any field. */
export function candidateFixture(id: string, text: string, over: Partial<AssociatedCandidate> = {}): AssociatedCandidate {
  return {
    id,
    sourceEventId: `ev-${id}`,
    kind: 'fact',
    granularity: 'fact',
    text,
    triple: null,
    entities: [],
    keywords: [],
    importance: 0.5,
    validFrom: 0,
    sources: [src(`msg-${id}`)],
    role: 'user',
    speaker: 'Caroline',
    retraction: false,
    embedding: [1, 0, 0],
    embeddingModel: 'test',
    textHash: textHashOf(text),
    clusters: [],
    links: [],
    ...over,
  };
}

/** The stored state of a memory fixture at `T` (embedding [0, 1, 0]); active at version 1 unless told. */
export function stateFixture(
  id: string,
  text: string,
  at: number,
  over: Partial<Memory> & { status?: MemoryState['status']; version?: number } = {},
): MemoryState {
  const { status = 'active', version = 1, ...m } = over;
  return {
    memory: memoryFixture(id, text, { embedding: [0, 1, 0], validFrom: at, recordedAt: at, version, ...m }),
    status,
    version,
    quarantineReasons: [],
    decisionReason: '',
    invalidatedBy: null,
    clusters: [],
    links: [],
  };
}

/** A fact memory of user t/u from message `msg-<id>`, version 1; `over` replaces any field. */
export function memoryFixture(id: string, text: string, over: Partial<Memory> = {}): Memory {
  return {
    id,
    tenantId: 't',
    userId: 'u',
    kind: 'fact',
    granularity: 'fact',
    text,
    triple: null,
    entities: [],
    keywords: [],
    embedding: [1, 0],
    embeddingModel: 'test',
    importance: 0.5,
    strength: 0.5,
    validFrom: 0,
    validTo: null,
    recordedAt: 0,
    supersededAt: null,
    version: 1,
    sources: [src(`msg-${id}`)],
    provenance: { runId: 'r', model: 'm', promptHash: '' },
    ...over,
  };
}

/** An active fact for the graph mentioning `entities`, valid from t=1000, recorded at t=2000; `over` replaces any field. */
export function graphMemoryFixture(id: string, entities: string[], over: Partial<GraphMemory> = {}): GraphMemory {
  return {
    id,
    text: `memory text ${id}`,
    kind: 'fact',
    status: 'active',
    entities,
    triple: null,
    validFrom: 1_000,
    validTo: null,
    recordedAt: 2_000,
    supersededAt: null,
    sourceMessageIds: [`msg-${id}`],
    ...over,
  };
}

/** A vector-index document: active fact, valid and known from t=100 on; `over` replaces any field. */
export function vectorDocFixture(id: string, text: string, embedding: number[], over: Partial<VectorDoc> = {}): VectorDoc {
  return {
    id,
    text,
    embedding,
    kind: 'fact',
    granularity: 'fact',
    status: 'active',
    validFrom: 100,
    validTo: null,
    recordedAt: 100,
    supersededAt: null,
    ...over,
  };
}

/** Names that would break a graph query built by string concatenation (quotes, backticks, Cypher, parameters). */
export const HOSTILE_GRAPH_STRINGS: readonly string[] = [
  "O'Brien",
  'say "hi"',
  'back`tick`',
  "x'}) MATCH (n) DETACH DELETE n //",
  '`]->(m) DETACH DELETE m; RETURN 1 AS `x',
  '$tenant',
  'line\nbreak \\ slash',
  'Ünïcødé ☃ 名前',
];
