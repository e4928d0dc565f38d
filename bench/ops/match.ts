/**
 * When a produced fact counts as an expected one (both from the same message):
 *
 * - strict: subject, predicate and object equal after normalisation (case, punctuation and the
 *   articles a/an/the are ignored); the produced memory must have a triple;
 * - lenient: the subjects' content words are contained one in the other, the predicates are equal
 *   after the alias table below, and the objects' content words are contained one in the other
 *   ("Portland" ~ "Portland, Oregon", "cats" ~ "cat named Miso"). A produced memory without a
 *   triple matches leniently when its text contains the content words of both the subject and
 *   the object (the predicate cannot be checked).
 *
 * The lenient rule also reads the relation scheme both ways: ("Maya's boss", name, "Karen") is
 * (Maya, has_boss, Karen).
 *
 * Content words: normalised tokens without a few function words, crudely stemmed (-ies, -ing,
 * -ed, plural -s and a final -e dropped, a doubled final consonant undoubled), so "running" ~
 * "run" and "leaving" ~ "leave". Pairs are assigned one-to-one per message: strict pairs first,
 * then lenient pairs, best overlap first.
 */
import type { Triple } from '../../core/model.js';
import { normaliseText } from '../../core/text.js';

export type MatchLevel = 'strict' | 'lenient';

/** What matching needs of an expected fact. */
export interface ExpectedClaim {
  readonly subject: string;
  readonly predicate: string;
  readonly object: string;
}

/** What matching needs of a produced memory. */
export interface ProducedClaim {
  readonly triple: Triple | null;
  readonly text: string;
}

const ARTICLES: ReadonlySet<string> = new Set(['a', 'an', 'the']);
const FUNCTION_WORDS: ReadonlySet<string> = new Set([
  ...ARTICLES,
  'of', 'to', 'in', 'at', 'on', 'for', 'and', 'with', 'from', 'by', 'as',
  'my', 'his', 'her', 'their', 'our', 's', 'named', 'called', 'is', 'are', 'was', 'were', 'be',
]);

/** Lenient predicate aliases: each key reads as its value. */
export const PREDICATE_ALIASES: Readonly<Record<string, string>> = {
  loves: 'likes',
  enjoys: 'likes',
  like: 'likes',
  hates: 'dislikes',
  dislike: 'dislikes',
  went_to: 'visited',
  attended: 'visited',
  been_to: 'visited',
  traveled_to: 'visited',
  travelled_to: 'visited',
  visit: 'visited',
  works_for: 'works_at',
  employed_at: 'works_at',
  employer: 'works_at',
  occupation: 'job_title',
  profession: 'job_title',
  job: 'job_title',
  works_as: 'job_title',
  resides_in: 'lives_in',
  lives_at: 'lives_in',
  location: 'lives_in',
  full_name: 'name',
  is_named: 'name',
  student_at: 'studies_at',
  attends: 'studies_at',
  plans_to: 'plans',
  intends_to: 'plans',
  pet: 'has_pet',
  comes_from: 'from',
  hometown: 'from',
  is_from: 'from',
  favorite_film: 'favourite_film',
  favourite_movie: 'favourite_film',
  favorite_movie: 'favourite_film',
};

/** The strict comparison form: normalised text without articles. */
export function strictForm(s: string): string {
  return normaliseText(s)
    .split(' ')
    .filter((t) => t !== '' && !ARTICLES.has(t))
    .join(' ');
}

/** A crude stem, applied to both sides alike (see the file comment). */
export function stem(token: string): string {
  let t = token;
  if (/^\d+$/.test(t) || t.length <= 3) return t;
  if (t.endsWith('ies') && t.length > 4) t = `${t.slice(0, -3)}y`;
  else if (/(?:ing|ed)$/.test(t) && t.length > 5) {
    t = t.replace(/(?:ing|ed)$/, '');
    if (/([b-df-hj-km-np-rtv-z])\1$/.test(t) && !/(?:ll|ss|zz)$/.test(t)) t = t.slice(0, -1);
  } else if (t.endsWith('s') && !/(?:ss|us|is)$/.test(t)) t = t.slice(0, -1);
  if (t.length > 3 && t.endsWith('e')) t = t.slice(0, -1);
  return t;
}

/** Content words of a phrase, for the lenient rule. */
export function contentWords(s: string): string[] {
  return normaliseText(s)
    .split(' ')
    .filter((t) => t !== '' && !FUNCTION_WORDS.has(t))
    .map(stem);
}

/** The predicate as the lenient rule reads it. */
export function canonicalPredicate(p: string): string {
  const key = p.trim().toLowerCase().replace(/[\s-]+/g, '_');
  const favorite = key.replace(/^favorite_/, 'favourite_');
  return PREDICATE_ALIASES[favorite] ?? favorite;
}

function within(inner: readonly string[], outer: ReadonlySet<string>): boolean {
  return inner.length > 0 && inner.every((t) => outer.has(t));
}

/** True when the content words of one phrase are all in the other's (either way). */
export function wordsContained(a: string, b: string): boolean {
  const wa = contentWords(a);
  const wb = contentWords(b);
  return within(wa, new Set(wb)) || within(wb, new Set(wa));
}

/** ("Maya's boss", name, Karen) read as (Maya, has_boss, Karen); other claims unchanged. */
export function relationForm(c: ExpectedClaim): ExpectedClaim {
  const m = /^(.+?)['’]s ([A-Za-z]+(?: [A-Za-z]+)?)$/.exec(c.subject.trim());
  if (!m || canonicalPredicate(c.predicate) !== 'name') return c;
  return { subject: m[1] as string, predicate: `has_${(m[2] as string).toLowerCase().replace(/ /g, '_')}`, object: c.object };
}

/** How well a produced claim matches an expected one, or null when it does not. */
export function matchLevel(e: ExpectedClaim, p: ProducedClaim): MatchLevel | null {
  const t = p.triple;
  if (t) {
    if (
      strictForm(t.subject) === strictForm(e.subject) &&
      t.predicate === e.predicate &&
      strictForm(t.object) === strictForm(e.object)
    ) {
      return 'strict';
    }
    const a = relationForm(t);
    const b = relationForm(e);
    const ok =
      wordsContained(a.subject, b.subject) &&
      canonicalPredicate(a.predicate) === canonicalPredicate(b.predicate) &&
      wordsContained(a.object, b.object);
    return ok ? 'lenient' : null;
  }
  const text = new Set(contentWords(p.text));
  const subject = contentWords(e.subject);
  const object = contentWords(e.object);
  return within(subject, text) && within(object, text) ? 'lenient' : null;
}

/** Word overlap of two claims' objects (ties between lenient candidates go to the closest). */
function overlap(e: ExpectedClaim, p: ProducedClaim): number {
  const a = new Set(contentWords(e.object));
  const b = new Set(contentWords(p.triple ? p.triple.object : p.text));
  let inter = 0;
  for (const w of a) if (b.has(w)) inter++;
  const union = a.size + b.size - inter;
  return union === 0 ? 0 : inter / union + (p.triple ? 0.001 : 0);
}

/** One expected ↔ produced pair. */
export interface Pair<E, P> {
  readonly expected: E;
  readonly produced: P;
  readonly level: MatchLevel;
}

/** One-to-one assignment of one message's expected and produced claims (see the file comment). */
export function assign<E extends ExpectedClaim, P extends ProducedClaim>(
  expected: readonly E[],
  produced: readonly P[],
): { pairs: Pair<E, P>[]; missed: E[]; spurious: P[] } {
  const levels = expected.map((e) => produced.map((p) => matchLevel(e, p)));
  const usedE = new Set<number>();
  const usedP = new Set<number>();
  const pairs: Pair<E, P>[] = [];
  const take = (i: number, j: number, level: MatchLevel): void => {
    usedE.add(i);
    usedP.add(j);
    pairs.push({ expected: expected[i] as E, produced: produced[j] as P, level });
  };
  expected.forEach((_, i) => {
    const j = produced.findIndex((_p, k) => !usedP.has(k) && levels[i]?.[k] === 'strict');
    if (j >= 0) take(i, j, 'strict');
  });
  const lenient: Array<{ i: number; j: number; score: number }> = [];
  expected.forEach((e, i) => {
    if (usedE.has(i)) return;
    produced.forEach((p, j) => {
      if (!usedP.has(j) && levels[i]?.[j] === 'lenient') lenient.push({ i, j, score: overlap(e, p) });
    });
  });
  lenient.sort((a, b) => b.score - a.score || a.i - b.i || a.j - b.j);
  for (const c of lenient) if (!usedE.has(c.i) && !usedP.has(c.j)) take(c.i, c.j, 'lenient');
  return {
    pairs,
    missed: expected.filter((_, i) => !usedE.has(i)),
    spurious: produced.filter((_, j) => !usedP.has(j)),
  };
}
