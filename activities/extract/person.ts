/**
 * Rewrites a first-person clause in the third person so that a fact reads as a standalone
 * sentence: "I have been painting with my kids" → "Caroline has been painting with Caroline's
 * kids". Possessives use the name rather than a guessed pronoun.
 */

/** Adverbs that may sit between a subject and its verb. */
const ADVERB =
  /^(?:really|also|just|still|quite|pretty|rather|fairly|indeed|originally|currently|now|recently|finally|actually|absolutely|totally|definitely|usually|always|sometimes|often|never|no longer|already|even|mostly|truly|seriously|honestly|basically|personally|kind of|sort of|kinda|so|then|only|once|both|all|literally|probably|certainly|rarely|occasionally|regularly|ever)\b\s*/i;

/** Verbs whose third person is irregular or must stay as is (modals, past forms). */
const THIRD_PERSON: Readonly<Record<string, string>> = {
  am: 'is',
  is: 'is',
  are: 'are',
  were: 'were',
  has: 'has',
  does: 'does',
  have: 'has',
  do: 'does',
  go: 'goes',
  was: 'was',
  'can': 'can',
  cannot: 'cannot',
  could: 'could',
  will: 'will',
  would: 'would',
  should: 'should',
  shall: 'shall',
  might: 'might',
  must: 'must',
  may: 'may',
  used: 'used',
  had: 'had',
};

/** Common irregular past forms: left unchanged. */
const IRREGULAR_PAST = new Set(
  `went got had was made took saw met ran bought left found felt came gave told thought brought began kept
  held wrote sat lost paid spent won built taught caught fell drove ate drank swam sang flew grew knew chose
  wore broke forgot became did said heard sent slept stood understood woke rode threw shook spoke stole
  sold hung led meant dealt fought`.split(/\s+/),
);

/** Words that can follow a subject but are not verbs to conjugate. */
const NOT_VERBS = new Set(['not', 'to', 'and', 'or', 'a', 'the']);

/** Third-person singular present of a base verb ("go" → "goes", "try" → "tries"). */
export function thirdPersonOf(verb: string): string {
  const lower = verb.toLowerCase();
  const fixed = THIRD_PERSON[lower];
  if (fixed !== undefined) return fixed;
  if (IRREGULAR_PAST.has(lower) || /ed$/.test(lower) || NOT_VERBS.has(lower)) return verb;
  if (/(?:s|sh|ch|x|z|o)$/.test(lower)) return `${verb}es`;
  if (/[^aeiou]y$/.test(lower)) return `${verb.slice(0, -1)}ies`;
  return `${verb}s`;
}

/** Conjugates the first verb of a predicate (after any adverbs) for a singular third-person subject. */
export function conjugateThirdPerson(predicate: string): string {
  let head = '';
  let rest = predicate;
  for (let i = 0; i < 4; i++) {
    const m = ADVERB.exec(rest);
    if (!m || m[0].length === 0) break;
    head += m[0];
    rest = rest.slice(m[0].length);
  }
  const v = /^([A-Za-z]+)(.*)$/s.exec(rest);
  if (!v) return predicate;
  const verb = v[1] as string;
  // Adverbs such as "no longer" keep the verb finite: "no longer lives".
  return `${head}${thirdPersonOf(verb)}${v[2] ?? ''}`;
}

/** Replaces first-person pronouns inside a clause with the speaker's name. */
export function replaceFirstPersonPronouns(text: string, speaker: string): string {
  return text
    .replace(/\bI am\b/g, `${speaker} is`)
    .replace(/\bI have\b/g, `${speaker} has`)
    .replace(/\bI do\b/g, `${speaker} does`)
    .replace(/\bI\b/g, speaker)
    .replace(/\b(?:my|mine|My)\b/g, `${speaker}'s`)
    .replace(/\bmyself\b/gi, speaker)
    .replace(/\bme\b/g, speaker);
}

/** Replaces first-person plural pronouns with "<speaker> and others" / "<speaker>'s". */
export function replaceFirstPersonPlural(text: string, speaker: string): string {
  return text
    .replace(/\b(?:our|ours|Our)\b/g, `${speaker}'s`)
    .replace(/\b(?:us|ourselves)\b/g, `${speaker} and others`)
    .replace(/\b(?:we|We)\b/g, `${speaker} and others`);
}

/** Upper-cases the first letter and ends the sentence with a full stop. */
export function asSentence(text: string): string {
  const t = text.replace(/[\s,;:.!?-]+$/, '').replace(/\s+/g, ' ').trim();
  if (t.length === 0) return '';
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}.`;
}
