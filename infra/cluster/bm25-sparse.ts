/**
 * BM25 as sparse vectors, for keyword search in Qdrant (pure). A document becomes a sparse vector
 * whose indices are 32-bit hashes of its terms and whose values are BM25's term-frequency part;
 * a query becomes its distinct terms with weight 1. The collection's sparse vector is configured
 * with `modifier: 'idf'`, so Qdrant multiplies each matched term by its IDF over the collection and
 * the dot product is the BM25 score: Σ idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·len/avgLen)).
 *
 * Tokenising follows the embedded FTS5 index (`porter unicode61 remove_diacritics 2`) so that both
 * profiles match the same words: Unicode letter/digit runs, lower-cased, Latin diacritics removed,
 * Porter-stemmed; no stop words (FTS5 has none either; IDF discounts common words).
 */

/** BM25 term-frequency saturation. */
export const BM25_K1 = 1.2;
/** BM25 length normalisation. */
export const BM25_B = 0.75;
/**
 * The average document length (in tokens) assumed by the length normalisation. Fixed rather than
 * measured so that a document's vector never depends on the rest of the collection (an upsert
 * stays idempotent and a rebuild bit-for-bit equal). 24 tokens is typical of Engram memories:
 * facts and preferences are ~8-15 tokens, turns ~20-40, session summaries longer.
 */
export const BM25_AVG_DOC_LEN = 24;
/** At most this many distinct query terms are searched (bounds the cost of a hostile query; as in FTS5's adapter). */
export const MAX_QUERY_TERMS = 64;

/** A sparse vector as Qdrant takes it: distinct indices, ascending, with their values. */
export interface SparseVector {
  readonly indices: number[];
  readonly values: number[];
}

/** The terms of a text, in order, with repeats: the tokens both documents and queries are made of. */
export function tokenize(text: string): string[] {
  if (typeof text !== 'string') return [];
  const terms: string[] = [];
  for (const match of text.normalize('NFKC').toLowerCase().matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    const term = stripDiacritics(match[0]);
    if (term !== '') terms.push(porterStem(term));
  }
  return terms;
}

/** FNV-1a (32-bit) of the term's UTF-8 bytes: the term's stable sparse index. */
export function termIndex(term: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(term, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** BM25's term-frequency part for a term seen `tf` times in a document of `len` tokens. */
export function bm25Weight(tf: number, len: number): number {
  return (tf * (BM25_K1 + 1)) / (tf + BM25_K1 * (1 - BM25_B + (BM25_B * len) / BM25_AVG_DOC_LEN));
}

/** A document's sparse vector (empty when the text has no words). Hash collisions add up their counts. */
export function documentVector(text: string): SparseVector {
  const terms = tokenize(text);
  const counts = new Map<number, number>();
  for (const term of terms) {
    const index = termIndex(term);
    counts.set(index, (counts.get(index) ?? 0) + 1);
  }
  return sparse(counts, (tf) => bm25Weight(tf, terms.length));
}

/** A query's sparse vector: its first MAX_QUERY_TERMS distinct terms with weight 1; null when it has no words. */
export function queryVector(text: string): SparseVector | null {
  const seen = new Set<string>();
  for (const term of tokenize(text)) {
    seen.add(term);
    if (seen.size >= MAX_QUERY_TERMS) break;
  }
  if (seen.size === 0) return null;
  const counts = new Map<number, number>();
  for (const term of seen) counts.set(termIndex(term), 1);
  return sparse(counts, () => 1);
}

function sparse(counts: ReadonlyMap<number, number>, weight: (tf: number) => number): SparseVector {
  const indices = [...counts.keys()].sort((a, b) => a - b);
  return { indices, values: indices.map((i) => weight(counts.get(i) ?? 0)) };
}

/**
 * Removes combining diacritics (U+0300-U+036F) after canonical decomposition: "café" → "cafe",
 * like FTS5's remove_diacritics. Marks of other blocks (e.g. Indic vowel signs) are letters'
 * parts there, so they stay.
 */
function stripDiacritics(term: string): string {
  return term.normalize('NFD').replace(/[\u0300-\u036f]+/g, '').normalize('NFC');
}

// ---------------------------------------------------------------- Porter stemmer

/**
 * The Porter (1980) stemmer, as in Martin Porter's reference C implementation that FTS5's
 * `porter` tokenizer follows. Only words of ASCII letters longer than two are stemmed; others
 * are returned unchanged.
 */
export function porterStem(word: string): string {
  if (word.length <= 2 || !/^[a-z]+$/.test(word)) return word;
  let w = step1a(word);
  w = step1b(w);
  w = step1c(w);
  w = replaceFirst(w, STEP2, 0);
  w = replaceFirst(w, STEP3, 0);
  w = step4(w);
  return step5(w);
}

/** True when w[i] is a consonant in Porter's sense (y after a consonant is a vowel). */
function isConsonant(w: string, i: number): boolean {
  const c = w[i];
  if (c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u') return false;
  if (c === 'y') return i === 0 ? true : !isConsonant(w, i - 1);
  return true;
}

/** Porter's m: the number of vowel-consonant sequences in the stem. */
function measure(stem: string): number {
  let i = 0;
  let m = 0;
  while (i < stem.length && isConsonant(stem, i)) i++;
  while (i < stem.length) {
    while (i < stem.length && !isConsonant(stem, i)) i++;
    if (i >= stem.length) break;
    m++;
    while (i < stem.length && isConsonant(stem, i)) i++;
  }
  return m;
}

function hasVowel(stem: string): boolean {
  for (let i = 0; i < stem.length; i++) if (!isConsonant(stem, i)) return true;
  return false;
}

function endsDoubleConsonant(w: string): boolean {
  const n = w.length;
  return n >= 2 && w[n - 1] === w[n - 2] && isConsonant(w, n - 1);
}

/** Porter's *o: the stem ends consonant-vowel-consonant, the last not w, x or y. */
function endsCvc(w: string): boolean {
  const n = w.length;
  if (n < 3 || !isConsonant(w, n - 3) || isConsonant(w, n - 2) || !isConsonant(w, n - 1)) return false;
  const last = w[n - 1];
  return last !== 'w' && last !== 'x' && last !== 'y';
}

function step1a(w: string): string {
  if (w.endsWith('sses')) return w.slice(0, -2);
  if (w.endsWith('ies')) return w.slice(0, -2);
  if (w.endsWith('ss')) return w;
  if (w.endsWith('s')) return w.slice(0, -1);
  return w;
}

function step1b(w: string): string {
  if (w.endsWith('eed')) return measure(w.slice(0, -3)) > 0 ? w.slice(0, -1) : w;
  let stem: string | null = null;
  if (w.endsWith('ed') && hasVowel(w.slice(0, -2))) stem = w.slice(0, -2);
  else if (w.endsWith('ing') && hasVowel(w.slice(0, -3))) stem = w.slice(0, -3);
  if (stem === null) return w;
  if (stem.endsWith('at') || stem.endsWith('bl') || stem.endsWith('iz')) return `${stem}e`;
  if (endsDoubleConsonant(stem)) {
    const last = stem[stem.length - 1];
    return last === 'l' || last === 's' || last === 'z' ? stem : stem.slice(0, -1);
  }
  if (measure(stem) === 1 && endsCvc(stem)) return `${stem}e`;
  return stem;
}

function step1c(w: string): string {
  return w.endsWith('y') && hasVowel(w.slice(0, -1)) ? `${w.slice(0, -1)}i` : w;
}

type Rules = readonly (readonly [suffix: string, replacement: string])[];

/** Order matters only within suffixes sharing their penultimate letter, as in the C code. */
const STEP2: Rules = [
  ['ational', 'ate'], ['tional', 'tion'], ['enci', 'ence'], ['anci', 'ance'], ['izer', 'ize'], ['bli', 'ble'],
  ['alli', 'al'], ['entli', 'ent'], ['eli', 'e'], ['ousli', 'ous'], ['ization', 'ize'], ['ation', 'ate'],
  ['ator', 'ate'], ['alism', 'al'], ['iveness', 'ive'], ['fulness', 'ful'], ['ousness', 'ous'], ['aliti', 'al'],
  ['iviti', 'ive'], ['biliti', 'ble'], ['logi', 'log'],
];

const STEP3: Rules = [
  ['icate', 'ic'], ['ative', ''], ['alize', 'al'], ['iciti', 'ic'], ['ical', 'ic'], ['ful', ''], ['ness', ''],
];

const STEP4 = [
  'al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent', 'ion', 'ou', 'ism', 'ate', 'iti',
  'ous', 'ive', 'ize',
] as const;

/** Replaces the first matching suffix when the remaining stem's measure exceeds `minMeasure`. */
function replaceFirst(w: string, rules: Rules, minMeasure: number): string {
  for (const [suffix, replacement] of rules) {
    if (!w.endsWith(suffix)) continue;
    const stem = w.slice(0, -suffix.length);
    return measure(stem) > minMeasure ? stem + replacement : w;
  }
  return w;
}

function step4(w: string): string {
  for (const suffix of STEP4) {
    if (!w.endsWith(suffix)) continue;
    const stem = w.slice(0, -suffix.length);
    if (suffix === 'ion' && !(stem.endsWith('s') || stem.endsWith('t'))) return w;
    return measure(stem) > 1 ? stem : w;
  }
  return w;
}

function step5(w: string): string {
  let out = w;
  if (out.endsWith('e')) {
    const stem = out.slice(0, -1);
    const m = measure(stem);
    if (m > 1 || (m === 1 && !endsCvc(stem))) out = stem;
  }
  if (out.endsWith('ll') && measure(out) > 1) out = out.slice(0, -1);
  return out;
}
