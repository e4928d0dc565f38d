/**
 * Entities of a memory text: people, places and organisations found by compromise, plus a few
 * topic nouns, normalised (trimmed, possessives and leading relation words stripped, title-cased,
 * acronyms kept) and deduplicated case-insensitively, in a stable order.
 */
import nlp from 'compromise';
import { lemma } from './keywords.js';
import { isStopword } from './stopwords.js';
import { relationOf } from './relations.js';

/** Upper bound on entities per memory. */
export const MAX_ENTITIES = 12;
/** Topic nouns kept per text (the rest of the entities are named things). */
const MAX_TOPIC_NOUNS = 3;

/** Nouns too generic to be a topic. */
const GENERIC_NOUNS = new Set(
  `thing things time times day days lot lots way ways people person guy guys stuff kind bit one ones
  week weeks month months year years today yesterday tomorrow tonight morning evening night moment
  idea ideas fun life world place part piece side end start point fact reason question answer name
  something anything everything nothing someone anyone everyone nobody somebody everybody yours mine
  hers his theirs ours image photo picture pic`.split(/\s+/),
);

/** Words stripped from the front of an entity ("the", "my", "sister" in "sister Anna"). */
function stripLeading(words: string[]): string[] {
  let i = 0;
  while (i < words.length - 1) {
    const w = (words[i] as string).toLowerCase();
    if (/^(?:the|a|an|my|our|your|his|her|their|its|this|that|these|those|some)$/.test(w) || relationOf(w) !== null) i++;
    else if (/^[\p{Ll}]/u.test(words[i] as string) && /^[\p{Lu}]/u.test(words[i + 1] as string)) i++;
    else break;
  }
  return words.slice(i);
}

/** Normalised form of an entity mention, or null when nothing is left. */
export function normaliseEntity(raw: string): string | null {
  const cleaned = raw
    .normalize('NFKC')
    .replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '')
    .replace(/[’‘]/g, "'")
    .replace(/'s\b|s'(?=\s|$)/g, (m) => (m === "s'" ? 's' : ''))
    .replace(/[^\p{L}\p{N}\s&'.-]+/gu, ' ')
    .replace(/[.'-]+(?=\s|$)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (cleaned.length === 0) return null;
  const words = stripLeading(cleaned.split(' '));
  while (words.length > 0 && !/[\p{L}\p{N}]/u.test(words[0] as string)) words.shift();
  const titled = words
    .map((w) => (/^[\p{Lu}\p{N}]{2,}$/u.test(w) ? w : `${w.charAt(0).toUpperCase()}${w.slice(1).toLowerCase()}`))
    .join(' ')
    .trim();
  if (titled.length < 2 || (words.length === 1 && isStopword(titled.toLowerCase()))) return null;
  if (words.some((w) => /^(?:i|i'm|im|me|my|you|your|we|our|he|she|they|it)$/i.test(w))) return null;
  return titled;
}

/** Tags that make a noun something other than a topic. */
const NOT_TOPIC_TAGS = ['ProperNoun', 'Pronoun', 'Possessive', 'Value', 'Verb', 'Gerund', 'Adjective', 'Date'];

/** Topic nouns: heads of noun phrases that are neither pronouns nor generic words. */
function topicNouns(doc: ReturnType<typeof nlp>): string[] {
  const out: string[] = [];
  const isCommonNoun = (t: { tags?: Set<string> } | undefined): boolean =>
    t?.tags !== undefined && t.tags.has('Noun') && !NOT_TOPIC_TAGS.some((tag) => t.tags?.has(tag));
  // The phrases' own terms (`docs`), not `.json()`: the same text, normal form and tags, without
  // building a JSON copy of every term (which cost more than the tagging).
  for (const terms of doc.nouns().not('#Pronoun').docs) {
    // The head is the last common noun; an adjacent common noun before it makes a compound ("support group").
    let h = terms.length - 1;
    while (h >= 0 && !isCommonNoun(terms[h])) h--;
    if (h < 0) continue;
    const clean = (i: number): string => (terms[i]?.normal ?? '').replace(/[^\p{L}\p{N}-]+/gu, '');
    const head = lemma(clean(h));
    if (head.length < 3 || GENERIC_NOUNS.has(head) || isStopword(head) || relationOf(head) !== null) continue;
    const before = terms[h - 1];
    const compound = isCommonNoun(before) && !/[,;:]$/.test((before as { text: string }).text) ? clean(h - 1) : '';
    out.push(compound.length > 0 ? `${compound} ${head}` : head);
  }
  return out;
}

/**
 * Entities of `text`. `about` lists names known to be involved (the speaker when the memory is
 * about them, the subject of a triple); they come first.
 */
export function entitiesOf(text: string, about: readonly string[] = []): string[] {
  const doc = nlp(text);
  const named = [
    ...(doc.people().out('array') as string[]),
    ...(doc.places().out('array') as string[]),
    ...(doc.organizations().out('array') as string[]),
    ...(doc.match('#ProperNoun+').out('array') as string[]),
  ];
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (raw: string): void => {
    const e = normaliseEntity(raw);
    if (e === null) return;
    const key = e.toLowerCase();
    if (seen.has(key) || out.length >= MAX_ENTITIES) return;
    seen.add(key);
    out.push(e);
  };
  for (const a of about) add(a);
  // "Caroline's sister Anna" is two mentions, not one.
  // Named mentions must be capitalised somewhere ("kids & work" is not an organisation).
  for (const n of named) {
    for (const part of n.replace(/[’‘]/g, "'").split(/'s?\s+/)) if (/[\p{Lu}]/u.test(part)) add(part);
  }
  let topics = 0;
  for (const t of topicNouns(doc)) {
    if (topics >= MAX_TOPIC_NOUNS) break;
    const before = out.length;
    add(t);
    if (out.length > before) topics++;
  }
  return out;
}
