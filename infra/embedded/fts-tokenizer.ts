/**
 * FTS5's `porter unicode61 remove_diacritics 2` tokenizer, in TypeScript, so that the in-memory
 * keyword index (keyword-cache.ts) finds and counts exactly the terms FTS5 does in `fts_memories`.
 * unicode61 splits on everything but letters, numbers and private-use characters (combining
 * diacritics continue a token), folds case and strips diacritics; porter then stems tokens of 3 to
 * 64 bytes. The stemmer works on UTF-8 bytes like FTS5's, so non-ASCII tokens stem the same way.
 * A test compares the output with FTS5's own (fts5vocab) on a word list.
 */

/** A token start: letters, numbers and private use (unicode61's default categories "L* N* Co"). */
const TOKEN_START = /[\p{L}\p{N}\p{Co}]/u;
/** A run of token characters: a token start, then more of them or combining diacritics. */
const TOKEN_RUN = /[\p{L}\p{N}\p{Co}][\p{L}\p{N}\p{Co}\u0300-\u036f]*/gu;
/** Latin letters, the only ones whose diacritics `remove_diacritics 2` removes. */
const LATIN = /\p{Script=Latin}/u;
/** Combining diacritical marks, removed by `remove_diacritics 2`. */
const DIACRITICS = /[\u0300-\u036f]/g;
/** Any character outside ASCII. */
const NON_ASCII = /[^\x00-\x7f]/;
/** Tokens longer than this many bytes are not stemmed. */
const PORTER_MAX_BYTES = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Stems of recently seen words: a text's words repeat across a history, so this saves most of the work. */
const stems = new Map<string, string>();
const STEM_MEMO_MAX = 200_000;

/** The terms FTS5 indexes for `text`, in order (repeats kept: they are the term frequencies). */
export function ftsTokens(text: string): string[] {
  const out: string[] = [];
  forEachFtsToken(text, (term) => out.push(term));
  return out;
}

/** Calls `onTerm` with each term FTS5 indexes for `text`, in order (no array: a bulk load makes less garbage). */
export function forEachFtsToken(text: string, onTerm: (term: string) => void): void {
  const emit = (word: string): void => {
    let term = stems.get(word);
    if (term === undefined) {
      term = porterStem(fold(word));
      if (stems.size >= STEM_MEMO_MAX) stems.clear();
      stems.set(word, term);
    }
    if (term.length > 0) onTerm(term);
  };
  if (NON_ASCII.test(text)) {
    for (const m of text.matchAll(TOKEN_RUN)) emit(m[0]);
    return;
  }
  // ASCII text (the common case) by a scan: the same tokens as TOKEN_RUN, without a match object each.
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0;
    const tokenChar = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (tokenChar) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      emit(text.slice(start, i));
      start = -1;
    }
  }
}

/**
 * Case folding and diacritic removal of one token, character by character like FTS5 (so a Greek
 * capital sigma is always σ), with diacritics removed from Latin letters only.
 */
function fold(word: string): string {
  if (/^[\x00-\x7f]*$/.test(word)) return word.toLowerCase();
  let out = '';
  for (const ch of word) {
    const lower = ch.toLowerCase();
    out += LATIN.test(ch) ? lower.normalize('NFD').replace(DIACRITICS, '').normalize('NFC') : lower.replace(DIACRITICS, '');
  }
  // A token whose every character was a diacritic leaves nothing.
  return TOKEN_START.test(out) ? out : '';
}

/** The Porter stem of a folded token, as FTS5's porter tokenizer computes it (on UTF-8 bytes). */
export function porterStem(token: string): string {
  const bytes = encoder.encode(token);
  if (bytes.length < 3 || bytes.length > PORTER_MAX_BYTES) return token;
  const stemmed = stemBytes(Array.from(bytes));
  return stemmed.length === bytes.length && stemmed.every((b, i) => b === bytes[i]) ? token : decoder.decode(Uint8Array.from(stemmed));
}

// ---------------------------------------------------------------- Porter's algorithm on bytes

const A = 97;
const E = 101;
const I = 105;
const L = 108;
const O = 111;
const S = 115;
const T = 116;
const U = 117;
const W = 119;
const X = 120;
const Y = 121;
const Z = 122;

/** A vowel: a e i o u, and y after a consonant. */
function isVowel(c: number, yIsVowel: boolean): boolean {
  return c === A || c === E || c === I || c === O || c === U || (yIsVowel && c === Y);
}

/**
 * Skips one vowel run then one consonant (a "VC" of Porter's measure) in w[from, end); returns the
 * position after that consonant, or 0 when there is none.
 */
function gobbleVC(w: readonly number[], from: number, end: number, prevConsonant: boolean): number {
  let consonant = prevConsonant;
  let i = from;
  for (; i < end; i++) {
    consonant = !isVowel(w[i] as number, consonant);
    if (!consonant) break;
  }
  for (i++; i < end; i++) {
    consonant = !isVowel(w[i] as number, consonant);
    if (consonant) return i + 1;
  }
  return 0;
}

/** m > 0 for the stem w[0, n). */
function mGt0(w: readonly number[], n: number): boolean {
  return gobbleVC(w, 0, n, false) !== 0;
}

/** m > 1 for the stem w[0, n). */
function mGt1(w: readonly number[], n: number): boolean {
  const at = gobbleVC(w, 0, n, false);
  return at !== 0 && gobbleVC(w, at, n, true) !== 0;
}

/** m = 1 for the stem w[0, n). */
function mEq1(w: readonly number[], n: number): boolean {
  const at = gobbleVC(w, 0, n, false);
  return at !== 0 && gobbleVC(w, at, n, true) === 0;
}

/** *o: the stem ends consonant-vowel-consonant, the last not w, x or y. */
function endsCvc(w: readonly number[], n: number): boolean {
  const last = w[n - 1];
  if (last === W || last === X || last === Y) return false;
  let mask = 0;
  let consonant = false;
  for (let i = 0; i < n; i++) {
    consonant = !isVowel(w[i] as number, consonant);
    mask = ((mask << 1) | (consonant ? 1 : 0)) & 0x7;
  }
  return mask === 0b101;
}

/** *v*: the stem contains a vowel. */
function hasVowel(w: readonly number[], n: number): boolean {
  for (let i = 0; i < n; i++) if (isVowel(w[i] as number, i > 0)) return true;
  return false;
}

/** m > 1 and the stem ends in s or t (for -ion). */
function mGt1AndST(w: readonly number[], n: number): boolean {
  const last = w[n - 1];
  return (last === S || last === T) && mGt1(w, n);
}

type Condition = (w: readonly number[], n: number) => boolean;
/** A rule: suffix, replacement, and the condition on what precedes the suffix. */
type Rule = readonly [suffix: string, replacement: string, condition: Condition | null];

/** Whether w[0, n) ends with `suffix` and has at least one byte before it. */
function endsWith(w: readonly number[], n: number, suffix: string): boolean {
  if (n <= suffix.length) return false;
  for (let i = 0; i < suffix.length; i++) if (w[n - suffix.length + i] !== suffix.charCodeAt(i)) return false;
  return true;
}

/**
 * Applies the first rule whose suffix matches (rules are grouped by the suffix's second-last
 * letter, as FTS5 does, so only one rule of a group can fire). Returns the new length and whether
 * a rule fired.
 */
function applyRules(w: number[], n: number, rules: readonly Rule[]): [number, boolean] {
  const key = w[n - 2];
  for (const [suffix, replacement, condition] of rules) {
    if (suffix.charCodeAt(suffix.length - 2) !== key) continue;
    if (!endsWith(w, n, suffix)) continue;
    const stem = n - suffix.length;
    if (condition !== null && !condition(w, stem)) return [n, false];
    w.length = stem;
    for (let i = 0; i < replacement.length; i++) w.push(replacement.charCodeAt(i));
    return [w.length, true];
  }
  return [n, false];
}

const STEP_1B2: readonly Rule[] = [
  ['at', 'ate', null],
  ['bl', 'ble', null],
  ['iz', 'ize', null],
];

const STEP_2: readonly Rule[] = [
  ['ational', 'ate', mGt0],
  ['tional', 'tion', mGt0],
  ['enci', 'ence', mGt0],
  ['anci', 'ance', mGt0],
  ['izer', 'ize', mGt0],
  ['logi', 'log', mGt0],
  ['bli', 'ble', mGt0],
  ['alli', 'al', mGt0],
  ['entli', 'ent', mGt0],
  ['eli', 'e', mGt0],
  ['ousli', 'ous', mGt0],
  ['ization', 'ize', mGt0],
  ['ation', 'ate', mGt0],
  ['ator', 'ate', mGt0],
  ['alism', 'al', mGt0],
  ['iveness', 'ive', mGt0],
  ['fulness', 'ful', mGt0],
  ['ousness', 'ous', mGt0],
  ['aliti', 'al', mGt0],
  ['iviti', 'ive', mGt0],
  ['biliti', 'ble', mGt0],
];

const STEP_3: readonly Rule[] = [
  ['ical', 'ic', mGt0],
  ['ness', '', mGt0],
  ['icate', 'ic', mGt0],
  ['iciti', 'ic', mGt0],
  ['ful', '', mGt0],
  ['ative', '', mGt0],
  ['alize', 'al', mGt0],
];

const STEP_4: readonly Rule[] = [
  ['al', '', mGt1],
  ['ance', '', mGt1],
  ['ence', '', mGt1],
  ['er', '', mGt1],
  ['ic', '', mGt1],
  ['able', '', mGt1],
  ['ible', '', mGt1],
  ['ant', '', mGt1],
  ['ement', '', mGt1],
  ['ment', '', mGt1],
  ['ent', '', mGt1],
  ['ion', '', mGt1AndST],
  ['ou', '', mGt1],
  ['ism', '', mGt1],
  ['ate', '', mGt1],
  ['iti', '', mGt1],
  ['ous', '', mGt1],
  ['ive', '', mGt1],
  ['ize', '', mGt1],
];

/** Porter's steps 1a to 5b on a token's bytes (at least 3 of them). */
function stemBytes(w: number[]): number[] {
  let n = w.length;
  // Step 1a: sses -> ss, ies -> i, ss -> ss, s -> (nothing).
  if (w[n - 1] === S) {
    if (w[n - 2] === E) {
      if ((n > 4 && w[n - 4] === S && w[n - 3] === S) || (n > 3 && w[n - 3] === I)) n -= 2;
      else n -= 1;
    } else if (w[n - 2] !== S) n -= 1;
    w.length = n;
  }
  // Step 1b: eed -> ee; -ed and -ing go when a vowel precedes them, and the stem is then mended.
  let removed = false;
  if (endsWith(w, n, 'eed')) {
    if (mGt0(w, n - 3)) n -= 1;
  } else if (endsWith(w, n, 'ed')) {
    if (hasVowel(w, n - 2)) [n, removed] = [n - 2, true];
  } else if (endsWith(w, n, 'ing')) {
    if (hasVowel(w, n - 3)) [n, removed] = [n - 3, true];
  }
  w.length = n;
  if (removed) {
    let extended: boolean;
    [n, extended] = applyRules(w, n, STEP_1B2);
    if (!extended) {
      const c = w[n - 1] as number;
      if (!isVowel(c, false) && c !== L && c !== S && c !== Z && c === w[n - 2]) {
        n -= 1;
        w.length = n;
      } else if (mEq1(w, n) && endsCvc(w, n)) {
        w.push(E);
        n += 1;
      }
    }
  }
  // Step 1c: y -> i after a vowel somewhere in the stem.
  if (w[n - 1] === Y && hasVowel(w, n - 1)) w[n - 1] = I;
  [n] = applyRules(w, n, STEP_2);
  [n] = applyRules(w, n, STEP_3);
  [n] = applyRules(w, n, STEP_4);
  // Step 5a.
  if (w[n - 1] === E && (mGt1(w, n - 1) || (mEq1(w, n - 1) && !endsCvc(w, n - 1)))) {
    n -= 1;
    w.length = n;
  }
  // Step 5b.
  if (n > 1 && w[n - 1] === L && w[n - 2] === L && mGt1(w, n - 1)) {
    n -= 1;
    w.length = n;
  }
  return w;
}
