/**
 * FTS5 match expressions for keyword search, built so that no user input is ever parsed as FTS5
 * syntax, plus the tags each indexed row carries. The tags (a numeric token for the scope and the
 * granularity's name, in a column BM25 weighs 0) let FTS5 intersect a query with one user's rows
 * of one granularity inside its own doclists, instead of scoring every row of every tenant that
 * contains a word and discarding the others' afterwards.
 */
import { createHash } from 'node:crypto';
import type { Granularity } from '../../core/model.js';

/** At most this many query tokens reach FTS5: bounds the cost of a hostile, very long query. */
export const MAX_QUERY_TOKENS = 64;

/** The distinct words of a text, lower-cased (letters, digits and marks only; at most MAX_QUERY_TOKENS). */
export function ftsTerms(text: string): string[] {
  const seen = new Set<string>();
  for (const match of text.normalize('NFKC').matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    seen.add(match[0].toLowerCase());
    if (seen.size >= MAX_QUERY_TOKENS) break;
  }
  return [...seen];
}

/**
 * Turns arbitrary user text into a safe FTS5 query: each word becomes a quoted string (quotes
 * cannot occur inside, since tokens are letters, digits and marks only) and words are OR-ed.
 * Returns null when the text has no words.
 */
export function toFtsQuery(text: string): string | null {
  const terms = ftsTerms(text);
  return terms.length === 0 ? null : orQuery(terms);
}

/** Quoted terms OR-ed together (terms must come from `ftsTerms`). */
function orQuery(terms: readonly string[]): string {
  return terms.map((t) => `"${t}"`).join(' OR ');
}

/** Tokens of recently written or searched scopes, by scope key. */
const recentTokens = new Map<string, string>();

/**
 * The scope's token: digits only, so that no tokenizer or stemmer changes it, and 60 bits of
 * SHA-256, so that two scopes practically never share one (the join on the scope column stays the
 * authority: a shared token would only cost time).
 */
export function scopeToken(scopeKey: string): string {
  let token = recentTokens.get(scopeKey);
  if (token === undefined) {
    token = `${BigInt(`0x${createHash('sha256').update(scopeKey).digest('hex').slice(0, 15)}`)}`;
    // A rebuild writes the same few scopes over and over: remember the last ones (bounded).
    if (recentTokens.size >= 4096) recentTokens.clear();
    recentTokens.set(scopeKey, token);
  }
  return token;
}

/** The `tags` column of an indexed row. */
export function ftsTags(scopeKey: string, granularity: Granularity): string {
  return `${scopeToken(scopeKey)} ${granularity}`;
}

/**
 * The match expression for `terms` within one scope and, when given, some granularities:
 * `tags : ("<scope>" AND ("fact" OR ...)) AND text : ("w1" OR "w2" ...)` (the words are looked for in
 * the text only: "session" must not match every session's tag). Null when there are no terms.
 */
export function scopedFtsMatch(scopeKey: string, terms: readonly string[], granularities?: readonly Granularity[]): string | null {
  if (terms.length === 0) return null;
  const tags = granularities === undefined ? `"${scopeToken(scopeKey)}"` : `"${scopeToken(scopeKey)}" AND (${orQuery(granularities)})`;
  return `tags : (${tags}) AND text : (${orQuery(terms)})`;
}
