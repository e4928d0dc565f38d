/**
 * Keywords of a memory text: the most frequent content words, stopwords removed and plurals
 * folded, so that "paintings" and "painting" land on one keyword (a light lemmatiser, no model).
 */
import { isStopword } from './stopwords.js';

/** Default number of keywords kept per memory. */
export const MAX_KEYWORDS = 8;

/** Lower-case word tokens of a text (letters, digits, inner apostrophes), possessives dropped. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.normalize('NFKC').replace(/[’‘]/g, "'").toLowerCase().matchAll(/[\p{L}\p{N}]+(?:'[\p{L}]+)*/gu)) {
    out.push(m[0].replace(/'s$/, ''));
  }
  return out;
}

/** Plurals in -ies whose singular ends in -ie ("movies" → "movie", not "movy"). */
const IE_PLURALS = new Set(
  `movies cookies rookies zombies selfies hippies pixies brownies smoothies goalies indies veggies sweeties
  aunties calories lies ties pies dies genies newbies hoodies freebies birdies budgies collies`.split(/\s+/),
);

/** Folds regular plurals onto the singular ("cities" → "city", "dogs" → "dog"); leaves other words alone. */
export function lemma(token: string): string {
  if (token.length <= 3 || /\d/.test(token)) return token;
  if (token.endsWith('ies') && token.length > 4) return IE_PLURALS.has(token) ? token.slice(0, -1) : `${token.slice(0, -3)}y`;
  if (/(?:ches|shes|sses|xes|zes)$/.test(token)) return token.slice(0, -2);
  if (token.endsWith('s') && !/(?:ss|us|is|ous|ics)$/.test(token)) return token.slice(0, -1);
  return token;
}

/** Content tokens of a text: stopwords, one-letter words and bare numbers (other than years) removed. */
export function contentTokens(text: string): string[] {
  return tokenize(text).filter(
    (t) => t.length > 1 && !isStopword(t) && (!/^\d+$/.test(t) || /^(?:19|20)\d\d$/.test(t)),
  );
}

/**
 * Up to `max` keywords, by frequency then first occurrence (deterministic). `exclude` drops words
 * that would be in every keyword list of a user (such as the speaker's own name).
 */
export function keywordsOf(text: string, max = MAX_KEYWORDS, exclude: readonly string[] = []): string[] {
  const skip = new Set(exclude.flatMap((e) => tokenize(e)));
  const counts = new Map<string, { n: number; first: number }>();
  contentTokens(text).forEach((tok, i) => {
    if (skip.has(tok)) return;
    const key = lemma(tok);
    const seen = counts.get(key);
    if (seen) seen.n += 1;
    else counts.set(key, { n: 1, first: i });
  });
  return [...counts.entries()]
    .sort((a, b) => b[1].n - a[1].n || a[1].first - b[1].first)
    .slice(0, max)
    .map(([k]) => k);
}
