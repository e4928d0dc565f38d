/**
 * The retroactive re-scan: the current guard over memories that are already active. What it now
 * catches is quarantined by a new version (a `HOLD`), with a lesson, exactly as at write time; the
 * log is never rewritten. It runs the write-time guard itself, so lessons learnt earlier in the
 * scan count for later memories and a message's units are held together.
 */
import type { Lesson, MessageRole } from '../../core/model.js';
import type { AssociatedCandidate, PlannedChange } from '../../core/pipeline.js';
import type { MemoryState } from '../../core/ports.js';
import { guard, type GuardOptions } from './guard.js';

/** An active memory to check again, with who wrote its first source message. */
export interface RescanSubject {
  readonly state: MemoryState;
  readonly role: MessageRole;
  readonly speaker: string;
  /** Related active memories (neighbours, same subject and predicate), without the memory itself. */
  readonly related: readonly MemoryState[];
}

/** A memory seen as the candidate it once was, so the write-time rules apply unchanged. */
export function candidateOfMemory(s: MemoryState, role: MessageRole, speaker: string): AssociatedCandidate {
  const m = s.memory;
  return {
    id: m.id,
    sourceEventId: m.sources[0]?.eventId ?? m.id,
    kind: m.kind,
    granularity: m.granularity,
    text: m.text,
    triple: m.triple,
    entities: m.entities,
    keywords: m.keywords,
    importance: m.importance,
    validFrom: m.validFrom,
    sources: m.sources,
    role,
    speaker,
    retraction: false,
    embedding: m.embedding,
    embeddingModel: m.embeddingModel,
    textHash: '',
    clusters: s.clusters,
    links: s.links,
  };
}

/** HOLD and LESSON changes for the subjects the guard now rejects, in the order given. */
export function planRescan(
  subjects: readonly RescanSubject[],
  lessons: readonly Lesson[],
  causationId: string,
  opts: Partial<GuardOptions> = {},
): PlannedChange[] {
  const active = subjects.filter((s) => s.state.status === 'active');
  const byId = new Map(active.map((s) => [s.state.memory.id, s]));
  // Each memory is checked as the candidate it once was, through the write-time guard itself.
  const changes: PlannedChange[] = active.map((s) => ({
    op: 'ADD',
    candidate: candidateOfMemory(s.state, s.role, s.speaker),
    reason: 'guard re-scan',
    comparedWith: [],
  }));
  const related: Record<string, MemoryState[]> = {};
  for (const s of active) related[s.state.memory.id] = [...s.related];
  const out: PlannedChange[] = [];
  for (const ch of guard(changes, { related, lessons: [...lessons] }, opts).changes) {
    if (ch.op === 'QUARANTINE') {
      const subject = byId.get(ch.candidate.id);
      if (!subject) continue;
      out.push({
        op: 'HOLD',
        memory: subject.state.memory,
        previousVersion: subject.state.version,
        score: ch.score,
        reasons: ['caught by a guard re-scan', ...ch.reasons],
        causationId,
      });
    } else if (ch.op === 'LESSON') {
      if (!lessons.some((l) => l.id === ch.lesson.id)) out.push({ op: 'LESSON', lesson: ch.lesson, causationId });
    }
  }
  return out;
}
