/** Builders of candidates and memory states for the stage-core tests. */
import type { Memory, SourceRef, Triple } from '../../core/model.js';
import type { AssociatedCandidate } from '../../core/pipeline.js';
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
