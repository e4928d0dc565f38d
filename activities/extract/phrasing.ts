/**
 * Standalone third-person sentences for triples: "Caroline lives in Berlin.", "Caroline no
 * longer lives in Berlin.", "Caroline does not live in Berlin." Used for retractions, negations
 * and relation facts, and when one clause yields several triples (each needs its own text).
 */
import type { Triple } from '../../core/model.js';
import { asSentence } from './person.js';

/** Positive, "no longer" (a retraction of something once true) or "not" (a plain negation). */
export type Polarity = 'positive' | 'no-longer' | 'not';

interface Template {
  /** Copular predicates ("is a nurse") negate the copula; others use "does not". */
  readonly be: boolean;
  /** Third-person form (or the complement of "is" when `be`). */
  readonly third: (o: string) => string;
  /** Base form after "does not" (unused when `be`). */
  readonly base: (o: string) => string;
}

function article(noun: string): string {
  return /^[aeiou]/i.test(noun) ? `an ${noun}` : `a ${noun}`;
}

/** A pet with its article; a bare plural takes none ("has cats"). */
function petPhrase(o: string): string {
  return /^\S+s$/i.test(o) && !/ss$/i.test(o) ? o : article(o);
}

const TEMPLATES: Readonly<Record<string, Template>> = {
  lives_in: { be: false, third: (o) => `lives in ${o}`, base: (o) => `live in ${o}` },
  lived_in: { be: false, third: (o) => `used to live in ${o}`, base: (o) => `live in ${o}` },
  from: { be: true, third: (o) => `from ${o}`, base: (o) => `from ${o}` },
  works_at: { be: false, third: (o) => `works at ${o}`, base: (o) => `work at ${o}` },
  worked_at: { be: false, third: (o) => `used to work at ${o}`, base: (o) => `work at ${o}` },
  job_title: { be: true, third: (o) => article(o), base: (o) => article(o) },
  age: { be: true, third: (o) => `${o} years old`, base: (o) => `${o} years old` },
  relationship_status: { be: true, third: (o) => o, base: (o) => o },
  studies_at: { be: false, third: (o) => `studies at ${o}`, base: (o) => `study at ${o}` },
  studies: { be: false, third: (o) => `studies ${o}`, base: (o) => `study ${o}` },
  likes: { be: false, third: (o) => `likes ${o}`, base: (o) => `like ${o}` },
  dislikes: { be: false, third: (o) => `dislikes ${o}`, base: (o) => `dislike ${o}` },
  prefers: { be: false, third: (o) => `prefers ${o}`, base: (o) => `prefer ${o}` },
  has_pet: { be: false, third: (o) => `has ${petPhrase(o)}`, base: (o) => `have ${petPhrase(o)}` },
  visited: { be: false, third: (o) => `visited ${o}`, base: (o) => `visit ${o}` },
  plans: {
    be: false,
    third: (o) => (/^\w+ing\b/.test(o) ? `plans on ${o}` : `plans to ${o}`),
    base: (o) => (/^\w+ing\b/.test(o) ? `plan on ${o}` : `plan to ${o}`),
  },
};

/** A sentence stating (or retracting, or negating) a triple. `display` is the object as written. */
export function describeTriple(triple: Triple, polarity: Polarity, display: string = triple.object): string {
  const s = triple.subject;
  const p = triple.predicate;
  if (p === 'name') {
    return asSentence(
      polarity === 'positive'
        ? `${s}'s name is ${display}`
        : `${s}'s name is ${polarity === 'not' ? 'not' : 'no longer'} ${display}`,
    );
  }
  if (p.startsWith('favourite_')) {
    const thing = p.slice('favourite_'.length).replace(/_/g, ' ');
    return asSentence(
      polarity === 'positive'
        ? `${s}'s favourite ${thing} is ${display}`
        : `${display} is ${polarity === 'not' ? 'not' : 'no longer'} ${s}'s favourite ${thing}`,
    );
  }
  if (p.startsWith('has_') && p !== 'has_pet') {
    const rel = p.slice('has_'.length).replace(/_/g, ' ');
    const phrase = `${article(rel)} named ${display}`;
    if (polarity === 'positive') return asSentence(`${s} has ${phrase}`);
    return asSentence(polarity === 'not' ? `${s} does not have ${phrase}` : `${s} no longer has ${phrase}`);
  }
  if (p === 'visited' && polarity !== 'positive') return asSentence(`${s} has not visited ${display}`);
  const t: Template = TEMPLATES[p] ?? {
    be: false,
    third: (o) => `${p.replace(/_/g, ' ')} ${o}`,
    base: (o) => `${p.replace(/_/g, ' ')} ${o}`,
  };
  if (polarity === 'positive') return asSentence(t.be ? `${s} is ${t.third(display)}` : `${s} ${t.third(display)}`);
  if (t.be) return asSentence(`${s} is ${polarity === 'not' ? 'not' : 'no longer'} ${t.third(display)}`);
  return asSentence(polarity === 'not' ? `${s} does not ${t.base(display)}` : `${s} no longer ${t.third(display)}`);
}
