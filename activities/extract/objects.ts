/**
 * Cleaning the object of a fact: cut at the first connector ("because", "with", a comma…), drop
 * trailing qualifiers ("a lot", "these days"), resolve "my" to the owner, and keep two forms: the
 * display form for sentences ("the local hospital") and the triple form without leading
 * determiners ("local hospital").
 */

import { contentTokens } from './keywords.js';

/** A cleaned object. */
export interface CleanObject {
  /** As it reads in a sentence. */
  readonly display: string;
  /** As stored in the triple: no leading article or demonstrative. */
  readonly object: string;
}

/** Where an object ends: punctuation or a connector that starts another thought. */
const CUT =
  /\s*(?:[,;:!?.()"]|\s[-–—]\s|\b(?:because|cause|since|but|so that|so|although|though|when|whenever|where|while|which|who|whereas|and then|until|unless|if|as well as|after|before|whom|whose|that is|especially|like I|and I|and we|and it|and she|and he|and they|I)\b)/;
/** Trailing words that qualify the verb rather than name the object. */
const TRAILING =
  /\s+(?:a lot|so much|very much|too|as well|also|lately|these days|right now|now|anymore|any more|currently|at the moment|for now|again|though|haha|lol|tbh|honestly|really|actually|of course|for sure|anyway|tho|at all|yet|recently|today|tonight|together|with them|with him|with her|there|here|over there|out there)$/i;
/** Objects that point elsewhere and say nothing on their own. */
const PRONOUN_OBJECT =
  /^(?:it|this|that|these|those|them|him|her|you|me|us|one|ones|something|anything|everything|nothing|stuff|things|there|here|so|that one|this one|what|which|all|both|more|most|some|any|lots|a lot)$/i;
/** Leading determiners dropped from the triple form. */
const DETERMINER = /^(?:(?:all|both|such|the|a|an|some|this|that|these|those|any)\s+)+/i;

/** Maximum words in an object; longer spans are not a clean object. */
const MAX_OBJECT_WORDS = 8;

/** Options for cleaning. */
export interface CleanOptions {
  /** Cut the object at "with"/"for"/"at"/"in" (places and organisations, not activities). */
  readonly cutPrepositions?: boolean;
  /** Whose "my" this is. */
  readonly owner: string;
}

/** Cleans a raw object span; null when nothing usable remains. */
export function cleanObject(raw: string, opts: CleanOptions): CleanObject | null {
  // Adverbs before the value ("still Dune", "now Berlin") are not part of it.
  let s = raw.trim().replace(/^(?:still|now|currently|really|also|just|actually|definitely)\s+/i, '');
  const cut = CUT.exec(s);
  if (cut) s = s.slice(0, cut.index);
  if (opts.cutPrepositions) {
    const prep = /\s+(?:with|for|as|to|from|on|by|near|since|during|every|each|last|next|this|until)\b/i.exec(s);
    if (prep) s = s.slice(0, prep.index);
  }
  for (let i = 0; i < 3; i++) s = s.replace(TRAILING, '');
  s = s
    .replace(/\b(?:my|My)\b/g, `${opts.owner}'s`)
    .replace(/\bmine\b/g, `${opts.owner}'s`)
    .replace(/\s+/g, ' ')
    .replace(/[\s'"-]+$/, '')
    .trim();
  if (s.length === 0 || PRONOUN_OBJECT.test(s)) return null;
  const object = s.replace(DETERMINER, '').trim();
  if (object.length === 0 || PRONOUN_OBJECT.test(object)) return null;
  if (object.split(' ').length > MAX_OBJECT_WORDS) return null;
  // An object needs one word that says something ("to", "so much" say nothing).
  if (!/\d/.test(object) && contentTokens(object).length === 0) return null;
  return { display: s, object };
}
