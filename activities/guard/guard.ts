/**
 * A-MemGuard, first version: before a memory becomes active, score how likely it is a poisoning
 * attempt from independent signals (noisy-OR): instruction-like content aimed at the agent, an
 * untrusted source role, a broken consensus among related memories, rare trigger-like tokens and
 * matches against lessons from earlier detections. A candidate at or above the threshold is
 * quarantined with its reasons, the invalidations it caused are dropped (the facts it would have
 * displaced stay active), and the failure is distilled into a lesson that later candidates, in
 * this batch and after, are checked against.
 *
 * A user's own first-person statements are trusted most: a user saying once "I moved to Berlin"
 * against three memories of Paris is a legitimate change (conflict resolution closes the old
 * fact); the same claim from an assistant or a tool, from a single message, is a consensus break.
 */
import { ValidationError } from '../../core/errors.js';
import { derivedEventIdOf } from '../../core/ids.js';
import type { Lesson, MessageRole } from '../../core/model.js';
import type { AssociatedCandidate, PlannedChange } from '../../core/pipeline.js';
import type { MemoryState } from '../../core/ports.js';
import { isFunctionalPredicate } from '../../core/predicates.js';
import { normaliseText } from '../../core/text.js';
import {
  claimOf,
  compatibleObjects,
  containsPhrase,
  objectTokens,
  quoteOf,
  round4,
  sameSubjectPredicate,
} from '../consolidate/claims.js';
import { instructionFinding, noisyOr, triggerTokens } from './signals.js';

export type GuardPattern = 'instruction-injection' | 'consensus-break' | 'trigger-token';

export interface GuardOptions {
  /** Score at or above which a candidate is quarantined. */
  threshold: number;
  /** Distinct source messages that must agree on a value for a contradiction to break a consensus. */
  consensusMin: number;
}

export const DEFAULT_GUARD_OPTIONS: Readonly<GuardOptions> = Object.freeze({ threshold: 0.5, consensusMin: 2 });

export interface GuardContext {
  /** Per candidate id: related active memories (neighbours, same entities, same subject and predicate). */
  related: Record<string, MemoryState[]>;
  lessons: Lesson[];
}

/** The guard's verdict on one ADD or UPDATE. */
export interface GuardVerdict {
  readonly candidateId: string;
  /** The memory the change writes (the target of an UPDATE). */
  readonly memoryId: string;
  readonly op: 'ADD' | 'UPDATE';
  readonly verdict: 'accept' | 'quarantine';
  readonly score: number;
  readonly reasons: readonly string[];
  /** The dominant attack pattern, when any signal besides the source role fired. */
  readonly pattern: string | null;
}

/** A candidate's suspicion score with its reasons. */
export interface Assessment {
  readonly score: number;
  readonly reasons: readonly string[];
  readonly pattern: string | null;
  /** What a lesson about this candidate would key on. */
  readonly trigger: string;
}

/** How far the guard distrusts what a message role claims about the user (the user's own: 0). */
const ROLE_WEIGHT: Readonly<Record<MessageRole, number>> = { user: 0, assistant: 0.2, system: 0.2, tool: 0.25 };
const TRIGGER_WEIGHT = 0.4;
const LESSON_TRIGGER_WEIGHT = 0.45;
const LESSON_CLAIM_WEIGHT = 0.35;

interface Signal {
  readonly pattern: GuardPattern | 'source-role' | 'lesson';
  readonly weight: number;
  readonly reason: string;
  readonly trigger: string;
  /** For a lesson match: the lesson's pattern, so a repeat is recorded under the same pattern. */
  readonly lessonPattern?: string;
}

/** Checks every ADD/UPDATE; quarantines suspicious ones and emits a lesson for each. */
export function guard(
  changes: readonly PlannedChange[],
  context: GuardContext,
  opts: Partial<GuardOptions> = {},
): { changes: PlannedChange[]; verdicts: GuardVerdict[] } {
  const o = optionsOf(opts);
  const lessons = [...context.lessons];
  const verdicts: GuardVerdict[] = [];
  const decided: PlannedChange[] = [];
  /** Ids of memories held back: invalidations they caused are dropped. */
  const held = new Map<string, 'ADD' | 'UPDATE'>();

  for (const ch of changes) {
    if (ch.op !== 'ADD' && ch.op !== 'UPDATE') {
      decided.push(ch);
      continue;
    }
    const c = ch.candidate;
    const memoryId = ch.op === 'ADD' ? c.id : ch.targetId;
    const a = assessCandidate(c, context.related[c.id] ?? [], lessons, o);
    const quarantine = a.score >= o.threshold;
    verdicts.push({
      candidateId: c.id,
      memoryId,
      op: ch.op,
      verdict: quarantine ? 'quarantine' : 'accept',
      score: a.score,
      reasons: a.reasons,
      pattern: a.pattern,
    });
    if (!quarantine) {
      decided.push(ch);
      continue;
    }
    held.set(memoryId, ch.op);
    decided.push({ op: 'QUARANTINE', candidate: c, score: a.score, reasons: a.reasons });
    const lesson = lessonOf(c, a);
    lessons.push(lesson);
    decided.push({ op: 'LESSON', lesson, causationId: c.sourceEventId });
  }

  const kept = decided.filter((ch) => {
    if (ch.op !== 'INVALIDATE') return true;
    if (ch.invalidatedBy !== null && held.has(ch.invalidatedBy)) return false;
    // A held-back ADD never becomes active, so closing it (historical fact, later rival) is moot.
    return held.get(ch.targetId) !== 'ADD';
  });
  return { changes: kept, verdicts };
}

/** Scores one candidate against its related memories and the known lessons. */
export function assessCandidate(
  c: AssociatedCandidate,
  related: readonly MemoryState[],
  lessons: readonly Lesson[],
  opts: Partial<GuardOptions> = {},
): Assessment {
  const o = optionsOf(opts);
  const firstPerson = isFirstPersonUser(c);
  const signals: Signal[] = [];

  const instr = instructionFinding(c.text);
  if (instr) {
    signals.push({
      pattern: 'instruction-injection',
      weight: instr.weight,
      reason: `instruction aimed at the agent: ${instr.labels.join('; ')}`,
      trigger: instr.trigger,
    });
  }

  const roleWeight = ROLE_WEIGHT[c.role] ?? 0.25;
  if (roleWeight > 0) {
    signals.push({ pattern: 'source-role', weight: roleWeight, reason: `claimed by ${c.role === 'assistant' ? 'an' : 'a'} ${c.role} message, not the user`, trigger: '' });
  }

  const consensus = consensusBreak(c, related, firstPerson, o.consensusMin);
  if (consensus) signals.push(consensus);

  const tokens = triggerTokens(c.text);
  if (tokens.length > 0) {
    signals.push({
      pattern: 'trigger-token',
      weight: TRIGGER_WEIGHT,
      reason: `rare trigger-like tokens: ${tokens.slice(0, 3).map((t) => quoteOf(t, 40)).join(', ')}`,
      trigger: tokens[0] as string,
    });
  }

  signals.push(...lessonSignals(c, lessons, firstPerson));

  const score = round4(noisyOr(signals.map((s) => s.weight)));
  const attack = signals.filter((s) => s.pattern !== 'source-role').sort((a, b) => b.weight - a.weight)[0];
  return {
    score,
    reasons: signals.map((s) => `${s.reason} (+${round4(s.weight)})`),
    pattern: attack ? (attack.lessonPattern ?? attack.pattern) : null,
    trigger: attack ? attack.trigger : '',
  };
}

/**
 * A functional fact from a single message, not the user's own first-person statement, that
 * contradicts a value at least `consensusMin` distinct other messages agree on.
 */
function consensusBreak(
  c: AssociatedCandidate,
  related: readonly MemoryState[],
  firstPerson: boolean,
  consensusMin: number,
): Signal | null {
  const t = c.triple;
  if (!t || firstPerson || !isFunctionalPredicate(t.predicate)) return null;
  const own = new Set(c.sources.map((s) => s.messageId));
  if (own.size > 1) return null;

  const groups = new Map<string, { object: string; memories: Set<string>; messages: Set<string> }>();
  for (const s of related) {
    const rt = s.memory.triple;
    if (s.status !== 'active' || !rt || s.memory.id === c.id) continue;
    if (!sameSubjectPredicate(rt, t) || compatibleObjects(rt.object, t.object)) continue;
    const key = objectTokens(rt.object).join(' ');
    const g = groups.get(key) ?? { object: rt.object, memories: new Set<string>(), messages: new Set<string>() };
    g.memories.add(s.memory.id);
    for (const src of s.memory.sources) if (!own.has(src.messageId)) g.messages.add(src.messageId);
    groups.set(key, g);
  }
  let best: { object: string; memories: Set<string>; messages: Set<string> } | null = null;
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key);
    if (g && (!best || g.messages.size > best.messages.size)) best = g;
  }
  if (!best || best.messages.size < consensusMin) return null;
  return {
    pattern: 'consensus-break',
    weight: Math.min(0.85, 0.45 + 0.1 * best.messages.size),
    reason:
      `breaks a consensus: ${best.memories.size} memories from ${best.messages.size} messages agree ` +
      `${t.subject} ${t.predicate} ${quoteOf(best.object)}, this single ${c.role} message says ${quoteOf(t.object)}`,
    trigger: normaliseText(c.text),
  };
}

/** Matches against stored lessons: their trigger in the text, or the same target claim. */
function lessonSignals(c: AssociatedCandidate, lessons: readonly Lesson[], firstPerson: boolean): Signal[] {
  // The user's own statements are trusted more: lessons weigh half against them.
  const scale = firstPerson ? 0.5 : 1;
  const claim = normaliseText(c.triple ? claimOf(c.triple) : c.text);
  const text = normaliseText(c.text);
  const out: Signal[] = [];
  for (const l of [...lessons].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const why: string[] = [];
    let w = 0;
    const trig = normaliseText(l.trigger);
    if (trig.length >= 3 && containsPhrase(text, trig)) {
      why.push(`trigger ${quoteOf(l.trigger, 40)}`);
      w = noisyOr([w, LESSON_TRIGGER_WEIGHT * scale]);
    }
    const target = normaliseText(l.targetClaim);
    if (target !== '' && (target === claim || target === text)) {
      why.push(`claim ${quoteOf(l.targetClaim, 60)}`);
      w = noisyOr([w, LESSON_CLAIM_WEIGHT * scale]);
    }
    if (w > 0) {
      out.push({
        pattern: 'lesson',
        weight: w,
        reason: `matches lesson ${l.id} (${l.pattern}): ${why.join(', ')}`,
        trigger: l.trigger,
        lessonPattern: l.pattern,
      });
    }
  }
  return out;
}

/** A lesson distilled from a quarantined candidate (deterministic id). */
function lessonOf(c: AssociatedCandidate, a: Assessment): Lesson {
  const pattern = a.pattern ?? 'untrusted-source';
  return {
    id: derivedEventIdOf('lesson', c.id, pattern),
    pattern,
    trigger: a.trigger !== '' ? a.trigger : normaliseText(c.text),
    targetClaim: c.triple ? claimOf(c.triple) : c.text,
    sources: [...c.sources],
    createdAt: c.validFrom,
  };
}

const FIRST_PERSON = /\b(i|i'm|i've|i'd|i'll|me|my|mine|myself)\b/i;

/**
 * A user message speaking about themselves. With a triple, its subject must be the speaker (or a
 * first-person pronoun): "I heard Caroline moved" from Melanie is a claim about someone else.
 */
export function isFirstPersonUser(c: AssociatedCandidate): boolean {
  if (c.role !== 'user') return false;
  if (c.triple) {
    const subject = c.triple.subject.trim().toLowerCase();
    return (c.speaker.trim() !== '' && subject === c.speaker.trim().toLowerCase()) || /^(i|me|myself|user)$/.test(subject);
  }
  return FIRST_PERSON.test(c.text);
}

function optionsOf(opts: Partial<GuardOptions>): GuardOptions {
  const o = { ...DEFAULT_GUARD_OPTIONS, ...opts };
  if (!Number.isFinite(o.threshold) || o.threshold <= 0 || o.threshold > 1) {
    throw new ValidationError(`guard option threshold must be in (0, 1], got ${o.threshold}`, { threshold: o.threshold });
  }
  if (!Number.isInteger(o.consensusMin) || o.consensusMin < 1) {
    throw new ValidationError(`guard option consensusMin must be a positive integer, got ${o.consensusMin}`, {
      consensusMin: o.consensusMin,
    });
  }
  return o;
}
