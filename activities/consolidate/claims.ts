/**
 * Small helpers for comparing claims (subject-predicate-object triples) and texts, shared by
 * consolidation, conflict resolution and the guard so that all three agree on what "the same
 * fact" and "the same value" mean.
 */
import type { Triple } from '../../core/model.js';
import { normaliseText } from '../../core/text.js';

const ARTICLES: ReadonlySet<string> = new Set(['the', 'a', 'an']);

/** Normalised word tokens of a text (core/text.ts normalisation, split on spaces). */
export function tokensOf(text: string): string[] {
  const n = normaliseText(text);
  return n === '' ? [] : n.split(' ');
}

/** Tokens of a triple object without leading articles, so "the Louvre" and "Louvre" are one value. */
export function objectTokens(object: string): string[] {
  const t = tokensOf(object);
  let i = 0;
  while (i < t.length - 1 && ARTICLES.has(t[i] as string)) i++;
  return t.slice(i);
}

/** True when two objects name the same value after normalisation. */
export function sameObject(a: string, b: string): boolean {
  return objectTokens(a).join(' ') === objectTokens(b).join(' ');
}

/** True when `outer` contains every token of `inner`, contiguously ("Paris, France" covers "Paris"). */
export function objectCovers(outer: string, inner: string): boolean {
  const o = objectTokens(outer).join(' ');
  const i = objectTokens(inner).join(' ');
  if (i === '') return false;
  return ` ${o} `.includes(` ${i} `);
}

/** Predicates whose values are titles or names: a longer title is another work ("Dune Messiah" is not "Dune"). */
export function isTitlePredicate(predicate: string): boolean {
  return predicate === 'name' || predicate.startsWith('favourite_');
}

/**
 * True when `outer` refines `inner` for this predicate: it covers it, and for titles it is not a
 * longer name that merely contains it. Places and organisations do refine by containment
 * ("North London", "Google DeepMind").
 */
export function refinesObject(outer: string, inner: string, predicate: string): boolean {
  if (!objectCovers(outer, inner)) return false;
  return sameObject(outer, inner) || !isTitlePredicate(predicate) || !extendsName(outer, inner);
}

/** Objects that name the same value or where one refines the other, for this predicate. */
export function compatibleValues(a: string, b: string, predicate: string): boolean {
  return refinesObject(a, b, predicate) || refinesObject(b, a, predicate);
}

/** True when `inner` sits in `outer` next to a capitalised word with no comma between: part of a longer name. */
export function extendsName(outer: string, inner: string): boolean {
  const words = inner
    .trim()
    .replace(/^(?:(?:the|a|an)\s+)+/i, '')
    .split(/\s+/)
    .filter((w) => w.length > 0)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (words.length === 0) return false;
  const m = new RegExp(String.raw`(?<![\p{L}\p{N}])${words.join(String.raw`\s+`)}(?![\p{L}\p{N}])`, 'iu').exec(outer);
  if (!m) return false;
  const before = /(\S+)\s+$/u.exec(outer.slice(0, m.index));
  const after = /^\s+(\S+)/u.exec(outer.slice(m.index + m[0].length));
  const capital = (w: string | undefined): boolean => w !== undefined && /^\p{Lu}/u.test(w);
  // A comma before the inner value or after it separates a qualifier ("Paris, France"), not a name.
  const beforeName = before !== null && !/[,;:]$/.test(before[1] as string) && capital(before[1]) && !/^(?:the|a|an)$/i.test(before[1] as string);
  const afterName = after !== null && capital(after[1]) && !/^[,;:]/.test(outer.slice(m.index + m[0].length));
  return beforeName || afterName;
}

/** Objects that name the same value or where one refines the other: not a contradiction. */
export function compatibleObjects(a: string, b: string): boolean {
  return objectCovers(a, b) || objectCovers(b, a);
}

/** The subject as used in fact keys (lower case, as the activity shell builds `activeFacts`). */
export function subjectKey(subject: string): string {
  return subject.toLowerCase();
}

/** Key of a user's facts about one subject and predicate: `${subjectLower}|${predicate}`. */
export function factKeyOf(subject: string, predicate: string): string {
  return `${subjectKey(subject)}|${predicate}`;
}

/** Same subject (case-insensitive, trimmed) and predicate. */
export function sameSubjectPredicate(a: Triple, b: Triple): boolean {
  return a.predicate === b.predicate && a.subject.trim().toLowerCase() === b.subject.trim().toLowerCase();
}

/** Same subject, predicate and (normalised) object. */
export function sameTriple(a: Triple, b: Triple): boolean {
  return sameSubjectPredicate(a, b) && sameObject(a.object, b.object);
}

/** A triple as one line, for reasons and lessons. */
export function claimOf(t: Triple): string {
  return `${t.subject} ${t.predicate} ${t.object}`;
}

/** True when the normalised phrase occurs in the normalised text on word boundaries. */
export function containsPhrase(text: string, phrase: string): boolean {
  const p = normaliseText(phrase);
  if (p === '') return false;
  return ` ${normaliseText(text)} `.includes(` ${p} `);
}

/** A world time as an ISO date for reasons (the raw number when it is not a valid time). */
export function isoOf(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/** A text shortened for a reason string. */
export function quoteOf(text: string, max = 80): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(t.length > max ? `${t.slice(0, max - 1)}…` : t);
}

/** Rounds a score so that reasons and verdicts print stable numbers. */
export function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
