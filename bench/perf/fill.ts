/**
 * Fills a store without running the pipeline: `MemoryAdded` (and `ClusterAssigned`) events written
 * straight into `memory-events`, as the commit activity would write them, with embeddings derived
 * from a pool of real ones. The projectors then catch up from the log like after any commit.
 */
import { memoryEventIdOf, memoryIdOf, derivedEventIdOf } from '../../core/ids.js';
import type { Granularity, Memory, MemoryEvent, MemoryKind, Triple } from '../../core/model.js';
import { TOPICS } from '../../core/model.js';
import type { EventLog } from '../../core/ports.js';
import type { Rng } from '../../core/random.js';
import { seededRng, seedOf } from '../../core/random.js';
import { scopeKey, type Scope } from '../../core/scope.js';
import { initialStrength } from '../../activities/forget/retention.js';
import type { RecordSealer } from '../../streams/record-sealer.js';
import { perturb } from './stats.js';

/** Real embeddings of distinct texts; memories take a text and a perturbed copy of its vector. */
export interface EmbeddingPool {
  readonly texts: readonly string[];
  readonly vectors: readonly Float32Array[];
  readonly modelId: string;
}

export interface FillOptions {
  /** Memories already written for this scope (ids and times continue from there). */
  readonly from: number;
  readonly count: number;
  /** Share of memories that also get a ClusterAssigned event with association links. */
  readonly linkShare: number;
  /** Noise norm of the perturbation (0 keeps pool vectors as they are). */
  readonly spread: number;
}

const START = Date.parse('2023-01-01T00:00:00Z');
const DETAILS = ['in the morning', 'at the weekend', 'after work', 'last spring', 'with friends', 'again', 'for a while', 'lately'];
const FACT = /^(\S+?)(?:'s)? (lives in|works at|is|enjoys|has a|plans to visit|read|favourite food is) (.+)\.$/;

/** The granularity and kind of a memory text as the extractor would label it. */
function labelOf(text: string): { granularity: Granularity; kind: MemoryKind; triple: Triple | null } {
  if (text.startsWith('In this session')) return { granularity: 'session', kind: 'summary', triple: null };
  const m = FACT.exec(text);
  if (m && !text.includes(':')) {
    const [, subject, predicate, object] = m as unknown as [string, string, string, string];
    return { granularity: 'fact', kind: predicate === 'enjoys' || predicate === 'favourite food is' ? 'preference' : 'fact', triple: { subject, predicate, object } };
  }
  return { granularity: 'turn', kind: 'episode', triple: null };
}

/** Capitalised words other than the first: the entities a memory mentions. */
function entitiesOf(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.slice(1).matchAll(/\b\p{Lu}[\p{L}]+/gu)) out.add(m[0]);
  return [...out].slice(0, 6);
}

/** Lower-case content words of four or more letters, at most eight. */
function keywordsOf(text: string): string[] {
  return [...new Set((text.toLowerCase().match(/\p{L}{4,}/gu) ?? []))].slice(0, 8);
}

/** The memory events for memories `from .. from+count-1` of a scope. Pure and deterministic. */
export function fillEvents(scope: Scope, pool: EmbeddingPool, opts: FillOptions): MemoryEvent[] {
  const events: MemoryEvent[] = [];
  const ids: string[] = [];
  for (let i = opts.from; i < opts.from + opts.count; i++) {
    const rng: Rng = seededRng(seedOf(`${scopeKey(scope)}#${i}`));
    const p = i % pool.texts.length;
    const base = pool.texts[p] as string;
    // The first pass over the pool keeps texts and vectors as embedded; later ones paraphrase.
    const again = i >= pool.texts.length;
    const text = again ? `${base.slice(0, -1)} ${DETAILS[Math.floor(rng.next() * DETAILS.length)]}.` : base;
    const embedding = again && opts.spread > 0 ? perturb(pool.vectors[p] as Float32Array, rng, opts.spread) : Array.from(pool.vectors[p] as Float32Array);
    const { granularity, kind, triple } = labelOf(base);
    const sourceEventId = `fill-${i}`;
    const id = memoryIdOf(scope, sourceEventId, granularity, 0);
    const at = START + i * 60_000;
    const importance = 0.3 + 0.5 * rng.next();
    const memory: Memory = {
      id,
      tenantId: scope.tenantId,
      userId: scope.userId,
      kind,
      granularity,
      text,
      triple,
      entities: entitiesOf(text),
      keywords: keywordsOf(text),
      embedding,
      embeddingModel: pool.modelId,
      importance,
      strength: initialStrength(importance),
      validFrom: at,
      validTo: null,
      recordedAt: at,
      supersededAt: null,
      version: 1,
      sources: [
        {
          eventId: sourceEventId,
          messageId: `fill-m${i}`,
          conversationId: `${scope.userId}-chat`,
          sessionId: `${scope.userId}-s${Math.floor(i / 10)}`,
          topic: TOPICS.conversation,
          partition: 0,
          offset: i,
        },
      ],
      provenance: { runId: 'bench-fill', model: 'engram-offline-extractor/1', promptHash: '' },
    };
    events.push({
      eventId: memoryEventIdOf(id, 1, 'MemoryAdded'),
      tenantId: scope.tenantId,
      userId: scope.userId,
      recordedAt: at,
      causationId: sourceEventId,
      payload: { type: 'MemoryAdded', memory, decision: { op: 'ADD', reason: 'bench fill', comparedWith: [] } },
    });
    ids.push(id);
    if (ids.length > 1 && rng.next() < opts.linkShare) {
      // Links to up to three earlier memories of this chunk, as the mixture model would draw them.
      const links = [...new Set([0, 1, 2].map(() => ids[Math.floor(rng.next() * (ids.length - 1))] as string))].map((memoryId) => ({
        memoryId,
        weight: Math.round((0.5 + 0.5 * rng.next()) * 1000) / 1000,
      }));
      events.push({
        eventId: derivedEventIdOf('cluster-assigned', id, '1'),
        tenantId: scope.tenantId,
        userId: scope.userId,
        recordedAt: at,
        causationId: sourceEventId,
        payload: { type: 'ClusterAssigned', memoryId: id, modelId: 'bench-fill', responsibilities: [{ component: Math.floor(rng.next() * 8), weight: 1 }], links },
      });
    }
  }
  return events;
}

/** Writes `count` memories of a scope into the log in chunks; returns the memory events written. */
export async function fillScope(
  log: EventLog,
  sealer: RecordSealer,
  scope: Scope,
  pool: EmbeddingPool,
  opts: FillOptions,
  onChunk?: (written: number) => void,
  chunk = 2000,
): Promise<number> {
  let events = 0;
  for (let done = 0; done < opts.count; done += chunk) {
    const n = Math.min(chunk, opts.count - done);
    const batch = fillEvents(scope, pool, { ...opts, from: opts.from + done, count: n });
    await log.append(TOPICS.memory, await sealer.memoryRecords(batch));
    events += batch.length;
    onChunk?.(done + n);
  }
  return events;
}
