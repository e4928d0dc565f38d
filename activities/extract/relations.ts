/**
 * People (and pets) related to a speaker, and how they are named in triples.
 *
 * Scheme: a relation is a predicate `has_<relation>` of its owner with the relative's name as
 * object ("my sister Anna" → (Caroline, has_sister, Anna)); pets use `has_pet` with the object
 * "dog named Max". A statement about an unnamed relative has the subject "<owner>'s <relation>"
 * ("my mom lives in Ohio" → (Caroline's mother, lives_in, Ohio)); about a named one, the name
 * ("my sister Anna lives in Boston" → (Anna, lives_in, Boston), plus the has_sister fact).
 * Relation words are canonical: mom, mum and mother are all "mother".
 */

/** A relation word's canonical form. */
export interface RelationWord {
  /** Canonical noun, used in subjects ("Caroline's mother") and predicates (has_mother). */
  readonly canonical: string;
  /** True for animals: the relation fact is has_pet. */
  readonly pet: boolean;
}

const PEOPLE: Readonly<Record<string, string>> = {
  sister: 'sister',
  sis: 'sister',
  brother: 'brother',
  bro: 'brother',
  sibling: 'sibling',
  siblings: 'siblings',
  mom: 'mother',
  mum: 'mother',
  mother: 'mother',
  mommy: 'mother',
  mama: 'mother',
  dad: 'father',
  father: 'father',
  daddy: 'father',
  papa: 'father',
  parents: 'parents',
  wife: 'wife',
  husband: 'husband',
  hubby: 'husband',
  partner: 'partner',
  spouse: 'spouse',
  boyfriend: 'boyfriend',
  girlfriend: 'girlfriend',
  fiance: 'fiance',
  'fiancé': 'fiance',
  fiancee: 'fiance',
  'fiancée': 'fiance',
  friend: 'friend',
  friends: 'friends',
  'best friend': 'best friend',
  bestie: 'best friend',
  bff: 'best friend',
  son: 'son',
  daughter: 'daughter',
  kid: 'child',
  child: 'child',
  kids: 'children',
  children: 'children',
  baby: 'baby',
  grandma: 'grandmother',
  grandmother: 'grandmother',
  granny: 'grandmother',
  nana: 'grandmother',
  grandpa: 'grandfather',
  grandfather: 'grandfather',
  aunt: 'aunt',
  auntie: 'aunt',
  uncle: 'uncle',
  cousin: 'cousin',
  niece: 'niece',
  nephew: 'nephew',
  boss: 'boss',
  manager: 'manager',
  coworker: 'colleague',
  'co-worker': 'colleague',
  colleague: 'colleague',
  roommate: 'roommate',
  flatmate: 'roommate',
  neighbor: 'neighbour',
  neighbour: 'neighbour',
  mentor: 'mentor',
  therapist: 'therapist',
  coach: 'coach',
  teacher: 'teacher',
};

const PETS: Readonly<Record<string, string>> = {
  dog: 'dog',
  dogs: 'dogs',
  puppy: 'puppy',
  pup: 'puppy',
  cat: 'cat',
  cats: 'cats',
  kitten: 'kitten',
  kitty: 'cat',
  hamster: 'hamster',
  rabbit: 'rabbit',
  bunny: 'rabbit',
  bird: 'bird',
  parrot: 'parrot',
  fish: 'fish',
  goldfish: 'goldfish',
  turtle: 'turtle',
  tortoise: 'tortoise',
  horse: 'horse',
  pony: 'pony',
  snake: 'snake',
  lizard: 'lizard',
  gecko: 'gecko',
  'guinea pig': 'guinea pig',
  ferret: 'ferret',
  hedgehog: 'hedgehog',
  pet: 'pet',
};

/** Alternation of every relation word, longest first (for regular expressions). */
export const RELATION_PATTERN = [...Object.keys(PEOPLE), ...Object.keys(PETS)]
  .sort((a, b) => b.length - a.length || a.localeCompare(b))
  .join('|');

/** Alternation of pet words, longest first. */
export const PET_PATTERN = Object.keys(PETS)
  .filter((w) => w !== 'pet')
  .sort((a, b) => b.length - a.length || a.localeCompare(b))
  .join('|');

/** The canonical relation for a word ("mom" → mother), or null when it is not a relation word. */
export function relationOf(word: string): RelationWord | null {
  const w = word.toLowerCase().replace(/\s+/g, ' ').trim();
  const person = PEOPLE[w];
  if (person !== undefined) return { canonical: person, pet: false };
  const pet = PETS[w];
  if (pet !== undefined) return { canonical: pet, pet: true };
  return null;
}

/** Singular form of a canonical relation, for predicates (children → child, friends → friend). */
export function singularRelation(canonical: string): string {
  if (canonical === 'children') return 'child';
  if (canonical === 'parents') return 'parent';
  if (canonical === 'siblings') return 'sibling';
  if (canonical === 'friends') return 'friend';
  if (canonical === 'dogs') return 'dog';
  if (canonical === 'cats') return 'cat';
  return canonical;
}

/** The predicate linking an owner to a named relative: has_sister, has_best_friend, has_pet. */
export function relationPredicate(rel: RelationWord): string {
  return rel.pet ? 'has_pet' : `has_${singularRelation(rel.canonical).replace(/\s+/g, '_')}`;
}

/** The triple subject for an unnamed relative: "Caroline's mother". */
export function relativeSubject(owner: string, rel: RelationWord): string {
  return `${owner}'s ${rel.canonical}`;
}
