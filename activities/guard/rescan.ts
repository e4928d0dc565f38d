/**
 * The retroactive re-scan: the current guard over memories that are already active. What it now
 * catches is quarantined by a new version (a `HOLD`), with a lesson, exactly as at write time; the
 * log is never rewritten. Lessons learnt earlier in the same scan count for later memories.
 */
import type { Lesson, MessageRole } from '../../core/model.js';
import type { AssociatedCandidate, PlannedChange } from '../../core/pipeline.js';
import type { MemoryState } from '../../core/ports.js';
import { assessCandidate, DEFAULT_GUARD_OPTIONS, lessonOf, type GuardOptions } from './guard.js';

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
  const known = [...lessons];
  const out: PlannedChange[] = [];
  const held = new Set<string>();
  for (const subject of subjects) {
    const { state } = subject;
    if (state.status !== 'active' || held.has(state.memory.id)) continue;
    const c = candidateOfMemory(state, subject.role, subject.speaker);
    // Memories this scan already held back no longer count towards a consensus.
    const related = subject.related.filter((r) => !held.has(r.memory.id));
    const a = assessCandidate(c, related, known, opts);
    if (a.score < (opts.threshold ?? DEFAULT_GUARD_OPTIONS.threshold)) continue;
    held.add(state.memory.id);
    out.push({ op: 'HOLD', memory: state.memory, previousVersion: state.version, score: a.score, reasons: ['caught by a guard re-scan', ...a.reasons], causationId });
    const lesson = lessonOf(c, a);
    if (!known.some((l) => l.id === lesson.id)) {
      known.push(lesson);
      out.push({ op: 'LESSON', lesson, causationId });
    }
  }
  return out;
}
