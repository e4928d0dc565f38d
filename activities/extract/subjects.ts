/**
 * Who a clause is about: the speaker ("I"), the speaker with others ("we"), a relative of the
 * speaker or of a named person ("my sister", "Melanie's husband John"), a named person
 * ("Melanie"), or "he"/"she" when an earlier clause of the message named someone. See
 * relations.ts for how relatives appear in triples.
 */
import nlp from 'compromise';
import { RELATION_PATTERN, relationOf, relativeSubject, type RelationWord } from './relations.js';

/** The subject of a clause, resolved. */
export interface Subject {
  readonly kind: 'first' | 'we' | 'relative' | 'named';
  /** Subject of triples: the speaker, "Caroline's mother", "Anna". */
  readonly triple: string;
  /** Subject as written into a fact's sentence: "Caroline", "Caroline's sister Anna". */
  readonly phrase: string;
  /** The predicate part of the clause, after the subject. */
  readonly rest: string;
  /** Names the clause is about (for entities). */
  readonly about: readonly string[];
  /** The clause is about the speaker or the speaker's relative (first-person content). */
  readonly own: boolean;
  /** For an unnamed relative ("my boss"): whose relative, and which relation. */
  readonly relative?: { readonly owner: string; readonly relation: RelationWord };
  /** For "Niamh and I": the other person, who shares the statement. */
  readonly partner?: string;
}

/** A capitalised name of one or two words. */
export const NAME = String.raw`[A-Z][\p{Ll}]+(?:-[A-Z]?[\p{Ll}]+)?(?: [A-Z][\p{Ll}]+(?:-[A-Z]?[\p{Ll}]+)?)?`;

/** Capitalised words that open sentences but are not names. */
const NOT_NAMES = new Set(
  `The This That These Those It Its There Here Today Yesterday Tomorrow Tonight Last Next Thanks Thank
  Sounds Hope Glad Sorry Congrats Congratulations Good Great Nice Love Such What When Where Why How Who
  Which Yes No Oh Well So And But Also Just Really Anyway Maybe Sure Okay Ok Wow Hey Hi Hello Cool
  Awesome Honestly Actually Haha Lol Omg Please Let Lets Did Does Do Is Are Was Were Will Would Could
  Should Can Have Has Had Being Some Any Every Each Everyone Everything Someone Something Nothing
  Nobody Life Work Home School Monday Tuesday Wednesday Thursday Friday Saturday Sunday January
  February March April May June July August September October November December Mine Yours Your
  You Our We They He She His Her Their Them Me My Myself Not Always Never Sometimes Definitely
  Totally Absolutely Exactly Agreed Right True Same Wait Look Listen Btw Ugh Yay Amazing Wonderful
  Perfect Beautiful Happy Cheers Bye Welcome`.split(/\s+/),
);

/** True when a capitalised word (or two) plausibly names a person, pet or place. */
export function isName(candidate: string): boolean {
  const first = candidate.split(' ')[0] ?? '';
  if (NOT_NAMES.has(first) || relationOf(first) !== null) return false;
  const doc = nlp(first);
  if (doc.has('#Person') || doc.has('#ProperNoun')) return true;
  return doc.has('#Noun') && !doc.has('(#Verb|#Adjective|#Adverb|#Pronoun|#Plural|#Determiner|#Preposition)');
}

const RE_FIRST = /^I\s+(.+)$/s;
const RE_WE = /^[Ww]e\s+(.+)$/s;
/** Adjectives between "my" and a relation that keep it current ("my new boss"); "old"/"former" do not. */
const CURRENT = String.raw`(?:(?:new|current|little|older|younger|big|baby|twin|eldest|oldest|youngest|lovely|amazing) )?`;
const RE_MY_RELATIVE = new RegExp(String.raw`^[Mm]y ${CURRENT}((?:${RELATION_PATTERN}))(?:,? (${NAME}),?)?\s+(.+)$`, 'su');
const RE_NAMED_RELATIVE = new RegExp(String.raw`^(${NAME})'s ((?:${RELATION_PATTERN}))(?:,? (${NAME}),?)?\s+(.+)$`, 'su');
const RE_JOINT = new RegExp(String.raw`^(${NAME}) and I\s+(.+)$`, 'su');
const RE_PRONOUN = /^(?:[Hh]e|[Ss]he)\s+(.+)$/s;
const RE_NAMED = new RegExp(String.raw`^(${NAME})\s+(.+)$`, 'su');

/** The subject of a clause, or null when it has none we can resolve. `lastNamed` resolves he/she. */
export function parseSubject(clause: string, speaker: string, lastNamed: string | null): Subject | null {
  let m = RE_FIRST.exec(clause);
  if (m) return { kind: 'first', triple: speaker, phrase: speaker, rest: m[1] as string, about: [speaker], own: true };
  m = RE_WE.exec(clause);
  if (m) {
    return { kind: 'we', triple: speaker, phrase: `${speaker} and others`, rest: m[1] as string, about: [speaker], own: true };
  }
  m = RE_MY_RELATIVE.exec(clause);
  if (m) {
    const word = m[1] as string;
    const rel = relationOf(word);
    const name = m[2];
    if (rel) {
      if (name !== undefined && isName(name)) {
        return {
          kind: 'relative',
          triple: name,
          phrase: `${speaker}'s ${word} ${name}`,
          rest: m[3] as string,
          about: [name, speaker],
          own: true,
        };
      }
      const rest = name !== undefined ? `${name} ${m[3] as string}` : (m[3] as string);
      return {
        kind: 'relative',
        triple: relativeSubject(speaker, rel),
        phrase: `${speaker}'s ${word}`,
        rest,
        about: [speaker],
        own: true,
        relative: { owner: speaker, relation: rel },
      };
    }
  }
  m = RE_NAMED_RELATIVE.exec(clause);
  if (m && isName(m[1] as string)) {
    const owner = m[1] as string;
    const word = m[2] as string;
    const rel = relationOf(word);
    const name = m[3];
    if (rel) {
      if (name !== undefined && isName(name)) {
        return { kind: 'named', triple: name, phrase: `${owner}'s ${word} ${name}`, rest: m[4] as string, about: [name, owner], own: false };
      }
      const rest = name !== undefined ? `${name} ${m[4] as string}` : (m[4] as string);
      return {
        kind: 'named',
        triple: relativeSubject(owner, rel),
        phrase: `${owner}'s ${word}`,
        rest,
        about: [owner],
        own: false,
        relative: { owner, relation: rel },
      };
    }
  }
  m = RE_JOINT.exec(clause);
  if (m && isName(m[1] as string) && m[1] !== speaker) {
    const partner = m[1] as string;
    return { kind: 'we', triple: speaker, phrase: `${speaker} and ${partner}`, rest: m[2] as string, about: [speaker, partner], own: true, partner };
  }
  m = RE_PRONOUN.exec(clause);
  if (m) {
    if (lastNamed === null) return null;
    return { kind: 'named', triple: lastNamed, phrase: lastNamed, rest: m[1] as string, about: [lastNamed], own: false };
  }
  m = RE_NAMED.exec(clause);
  if (m && isName(m[1] as string)) {
    const name = m[1] as string;
    if (name === speaker) return { kind: 'named', triple: speaker, phrase: speaker, rest: m[2] as string, about: [speaker], own: true };
    return { kind: 'named', triple: name, phrase: name, rest: m[2] as string, about: [name], own: false };
  }
  return null;
}
