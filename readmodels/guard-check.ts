/**
 * A-MemGuard's read-time check: over each retrieved set, flag the members that break the consensus
 * of the rest (a functional claim from one message against a value several others agree on),
 * that read as instructions to the agent, that carry planted trigger tokens, or that match a
 * lesson from an earlier attack; and attach the lessons that touch what was asked and found.
 *
 * The write-time guard already holds most poison back; this catches what slipped through (older
 * memories from before a rule existed, attacks spread over several messages), without a model.
 */
import type { Lesson } from '../core/model.js';
import { isFunctionalPredicate } from '../core/predicates.js';
import { normaliseText } from '../core/text.js';
import { claimOf, compatibleObjects, containsPhrase, objectTokens, quoteOf, sameSubjectPredicate } from '../activities/consolidate/claims.js';
import { instructionFinding, noisyOr, triggerTokens } from '../activities/guard/signals.js';
import type { SearchHit } from './search.js';

/** What the check decided about one retrieved set. */
export interface RetrievedCheck {
  /** Flagged hit id → why. */
  readonly flagged: ReadonlyMap<string, readonly string[]>;
  /** Lessons relevant to the query or the hits, newest first. */
  readonly lessons: Lesson[];
}

export interface RetrievedCheckOptions {
  /** Suspicion (noisy-OR of the signals) at or above which a member is flagged. */
  readonly threshold: number;
  /** Other hits, from distinct messages, that must agree for a contradiction to break the consensus. */
  readonly consensusMin: number;
  /** Lessons attached at most. */
  readonly maxLessons: number;
}

export const DEFAULT_RETRIEVED_CHECK: Readonly<RetrievedCheckOptions> = Object.freeze({ threshold: 0.5, consensusMin: 2, maxLessons: 5 });

/** Subjects too generic to tie a lesson to a search ("user", pronouns). */
const GENERIC_SUBJECTS = new Set(['user', 'i', 'me', 'my', 'you', 'we', 'they', 'he', 'she', 'it']);

/** Checks a retrieved set against itself and the user's lessons (pure). */
export function checkRetrieved(
  query: string,
  hits: readonly SearchHit[],
  lessons: readonly Lesson[],
  opts: Partial<RetrievedCheckOptions> = {},
): RetrievedCheck {
  const o = { ...DEFAULT_RETRIEVED_CHECK, ...opts };
  const flagged = new Map<string, string[]>();
  const q = normaliseText(query);
  for (const hit of hits) {
    const signals: { weight: number; reason: string }[] = [];
    const instr = instructionFinding(hit.text);
    if (instr) signals.push({ weight: instr.weight, reason: `reads as an instruction to the agent: ${instr.labels.join('; ')}` });
    const tokens = triggerTokens(hit.text);
    if (tokens.length > 0) signals.push({ weight: 0.4, reason: `carries trigger-like tokens: ${tokens.slice(0, 3).map((t) => quoteOf(t, 40)).join(', ')}` });
    const broken = consensusBreak(hit, hits, o.consensusMin);
    if (broken) signals.push({ weight: 0.6, reason: broken });
    const text = normaliseText(hit.text);
    const claim = hit.triple ? normaliseText(claimOf(hit.triple)) : text;
    for (const l of lessons) {
      const trigger = normaliseText(l.trigger);
      const target = normaliseText(l.targetClaim);
      if ((trigger.length >= 3 && containsPhrase(text, trigger)) || (target !== '' && (target === claim || target === text))) {
        signals.push({ weight: 0.6, reason: `matches lesson ${l.id} (${l.pattern})` });
        break;
      }
    }
    if (signals.length === 0) continue;
    if (noisyOr(signals.map((s) => s.weight)) >= o.threshold) flagged.set(hit.id, signals.map((s) => s.reason));
  }
  return { flagged, lessons: relevantLessons(q, hits, lessons, o.maxLessons) };
}

/** A functional claim made by one message against a value `min` other hits from distinct messages agree on. */
function consensusBreak(hit: SearchHit, hits: readonly SearchHit[], min: number): string | null {
  const t = hit.triple;
  if (!t || !isFunctionalPredicate(t.predicate)) return null;
  const own = new Set(hit.sources.map((s) => s.messageId));
  if (own.size > 1) return null;
  const groups = new Map<string, { object: string; messages: Set<string> }>();
  for (const other of hits) {
    const ot = other.triple;
    if (other.id === hit.id || !ot || !sameSubjectPredicate(ot, t) || compatibleObjects(ot.object, t.object)) continue;
    const key = objectTokens(ot.object).join(' ');
    const g = groups.get(key) ?? { object: ot.object, messages: new Set<string>() };
    for (const s of other.sources) if (!own.has(s.messageId)) g.messages.add(s.messageId);
    groups.set(key, g);
  }
  let best: { object: string; messages: Set<string> } | null = null;
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key);
    if (g && (!best || g.messages.size > best.messages.size)) best = g;
  }
  if (!best || best.messages.size < min) return null;
  return `breaks the consensus of the retrieved set: ${best.messages.size} messages say ${t.subject} ${t.predicate} ${quoteOf(best.object)}, this one says ${quoteOf(t.object)}`;
}

/** Lessons whose trigger is in the query or a hit, or whose target claim names a subject of the hits. */
function relevantLessons(query: string, hits: readonly SearchHit[], lessons: readonly Lesson[], max: number): Lesson[] {
  const subjects = new Set<string>();
  for (const h of hits) {
    if (h.triple) subjects.add(normaliseText(h.triple.subject));
  }
  for (const s of [...subjects]) if (s === '' || GENERIC_SUBJECTS.has(s)) subjects.delete(s);
  const texts = [query, ...hits.map((h) => normaliseText(h.text))];
  const out: Lesson[] = [];
  for (const l of [...lessons].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1))) {
    const trigger = normaliseText(l.trigger);
    const target = normaliseText(l.targetClaim);
    const byTrigger = trigger.length >= 3 && texts.some((t) => containsPhrase(t, trigger));
    const bySubject = [...subjects].some((s) => containsPhrase(target, s)) || (target !== '' && texts.some((t) => containsPhrase(t, target)));
    if (byTrigger || bySubject) out.push(l);
    if (out.length >= max) break;
  }
  return out;
}
