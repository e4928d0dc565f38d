/**
 * Normalised predicates of extracted facts. Functional predicates hold one value at a time per
 * subject (a new value contradicts the old one); multi-valued ones accumulate.
 */
export const FUNCTIONAL_PREDICATES: ReadonlySet<string> = new Set([
  'lives_in',
  'works_at',
  'name',
  'age',
  'job_title',
  'relationship_status',
  'studies_at',
  'nationality',
  'pronouns',
  'birthday',
  // One current boss ("my new boss is X" replaces the old one).
  'has_boss',
]);

/** Favourite-X predicates ("favourite_food") are functional too. */
export function isFunctionalPredicate(predicate: string): boolean {
  return FUNCTIONAL_PREDICATES.has(predicate) || predicate.startsWith('favourite_');
}

/** Pairs of predicates that contradict each other for the same subject and object. */
export const OPPOSITE_PREDICATES: Readonly<Record<string, string>> = {
  likes: 'dislikes',
  dislikes: 'likes',
  prefers: 'dislikes',
};
