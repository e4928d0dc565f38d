/**
 * Normalising the triples a language model writes to the forms the offline extractor produces
 * (activities/extract/), so that consolidation and conflict resolution match LLM facts and
 * offline facts alike: predicates from the same vocabulary (core/predicates.ts plus the offline
 * patterns' names), relatives as "<owner>'s <canonical relation>", first person as the speaker,
 * objects without leading determiners.
 */
import { favouritePredicate } from '../extract/facts.js';
import { relationOf, relationPredicate } from '../extract/relations.js';

/** Predicate synonyms a model may write → the offline extractor's predicate. */
const SYNONYMS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries({
    lives_in: 'live_in lives live living_in lives_at live_at resides_in reside_in resides residence location current_city city home based_in is_based_in moved_to',
    lived_in: 'used_to_live_in previously_lived_in former_residence formerly_lived_in',
    from: 'is_from comes_from come_from hometown born_in was_born_in grew_up_in origin place_of_birth birthplace',
    works_at: 'work_at works_for work_for employer employed_at employed_by is_employed_at workplace company works_in',
    worked_at: 'used_to_work_at previously_worked_at former_employer formerly_worked_at',
    job_title: 'job occupation profession works_as work_as is_a_job position title job_role',
    studies_at: 'study_at attends attend studying_at enrolled_at school university college goes_to_school_at',
    studies: 'study studying major majors_in major_in field_of_study',
    name: 'named is_named called is_called goes_by full_name first_name',
    age: 'is_age years_old aged',
    relationship_status: 'marital_status relationship',
    nationality: 'citizenship',
    birthday: 'birth_date date_of_birth born_on',
    pronouns: 'pronoun',
    likes: 'like loves love enjoys enjoy is_into into fan_of is_fan_of interested_in interest hobby hobbies',
    dislikes: 'dislike hates hate does_not_like doesnt_like not_like',
    prefers: 'prefer preference',
    visited: 'visit went_to traveled_to travelled_to been_to has_visited has_been_to trip_to',
    plans: 'plan plans_to planning planning_to plans_on intends_to intend_to wants_to going_to will goal',
    has_pet: 'pet owns_pet has_pets pets',
  }).flatMap(([canonical, words]) => words.split(' ').map((w) => [w, canonical] as const)),
);

/** Words that mean "the speaker" as a subject. */
const SELF = /^(?:i|me|myself|user|the user|speaker|the speaker|self|narrator)$/i;
/** Possessives that mean "the speaker's". */
const SELF_POSSESSIVE = /^(?:my|the user's|user's|the speaker's|speaker's)\s+(.+)$/i;
/** Leading determiners the offline triples do not keep (activities/extract/objects.ts). */
const DETERMINER = /^(?:(?:all|both|such|the|a|an|some|this|that|these|those|any)\s+)+/i;

/** The offline extractor's predicate for what a model wrote ("Favorite movies" → favourite_movie). */
export function normalisePredicate(raw: string): string | null {
  const p = raw
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (p.length === 0 || p === 'none' || p === 'null') return null;
  const fav = /^(?:favou?rite|fav)_(.+)$/.exec(p);
  if (fav) return favouritePredicate((fav[1] as string).replace(/_/g, ' '));
  const synonym = SYNONYMS[p];
  if (synonym !== undefined) return synonym;
  const has = /^(?:has|have)_(?:a_|an_)?(.+)$/.exec(p);
  if (has) {
    const rel = relationOf((has[1] as string).replace(/_/g, ' '));
    if (rel) return relationPredicate(rel);
  }
  return p;
}

/** A relative's subject in the offline form: "<owner>'s <canonical relation>" ("mom" → mother). */
function relativeOf(owner: string, word: string): string {
  const rel = relationOf(word);
  return `${owner}'s ${rel ? rel.canonical : word}`;
}

/** The subject with first person resolved to the speaker and relatives in canonical form. */
export function normaliseSubject(raw: string, speaker: string): string {
  const s = raw.normalize('NFKC').replace(/[’‘]/g, "'").replace(/\s+/g, ' ').trim();
  if (s.length === 0 || SELF.test(s) || s.toLowerCase() === speaker.toLowerCase()) return speaker;
  const mine = SELF_POSSESSIVE.exec(s);
  if (mine) return relativeOf(speaker, mine[1] as string);
  const theirs = /^(.+?)'s?\s+(.+)$/.exec(s);
  if (theirs) {
    const owner = theirs[1] as string;
    const who = owner.toLowerCase() === speaker.toLowerCase() ? speaker : owner;
    if (who === speaker || relationOf(theirs[2] as string)) return relativeOf(who, theirs[2] as string);
  }
  return s;
}

/** The object as the offline triples store it: "my" resolved, leading determiners and end punctuation dropped. */
export function normaliseObject(raw: string, speaker: string, predicate: string): string | null {
  let o = raw
    .normalize('NFKC')
    .replace(/[’‘]/g, "'")
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s.!?,;:]+$/, '')
    .replace(/\b(?:my|My|mine)\b/g, `${speaker}'s`)
    .replace(DETERMINER, '')
    .trim();
  if (predicate === 'age') o = /\d{1,3}/.exec(o)?.[0] ?? o;
  if (predicate === 'relationship_status') o = o.toLowerCase();
  return o.length > 0 ? o : null;
}
