/**
 * Importance in 0..1: how much a memory is worth keeping (it weights forgetting and ranking).
 * Facts outrank episodes; personal facts, relatives, plans, preferences and retractions rank
 * highest; small talk lowest.
 */
import type { MemoryKind, Triple } from '../../core/model.js';
import { isFunctionalPredicate } from '../../core/predicates.js';

/** Importance of a session summary. */
export const SUMMARY_IMPORTANCE = 0.6;
/** Importance of a low-information turn ("ok", "haha"). */
export const LOW_INFORMATION_IMPORTANCE = 0.05;

/** Importance of a turn-level episode from its information score (0..1); at most 0.5. */
export function episodeImportance(informationScore: number, lowInformation: boolean): number {
  if (lowInformation) return LOW_INFORMATION_IMPORTANCE;
  return round(0.15 + 0.35 * clamp(informationScore));
}

/** What importance needs to know about a fact. */
export interface FactTraits {
  readonly kind: MemoryKind;
  readonly triple: Triple | null;
  readonly retraction: boolean;
  /** About the speaker or the speaker's relatives. */
  readonly own: boolean;
  readonly dated: boolean;
}

/** Importance of an atomic fact; always above any episode's (≥ 0.55). */
export function factImportance(f: FactTraits): number {
  let base: number;
  const p = f.triple?.predicate ?? null;
  if (f.retraction) base = 0.85;
  else if (p !== null && isFunctionalPredicate(p)) base = 0.85;
  else if (p === 'plans') base = 0.8;
  else if (p !== null && p.startsWith('has_')) base = 0.8;
  else if (f.kind === 'preference') base = 0.75;
  else if (f.kind === 'event') base = f.dated ? 0.75 : 0.7;
  else if (p !== null) base = 0.7;
  else base = 0.6;
  if (!f.own) base -= 0.05;
  return round(Math.max(0.55, base));
}

function clamp(x: number): number {
  return Math.min(1, Math.max(0, x));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
