/**
 * What a search query says beyond its words: its content keywords (for BM25, so "what" and "did"
 * do not match every question in a chat), its dates (a time window to boost), and the names it
 * mentions (people and places to prefer memories by or about).
 */
import { findDates, type DatePrecision } from '../../activities/extract/dates.js';
import { contentTokens } from '../../activities/extract/keywords.js';
import { isStopword } from '../../activities/extract/stopwords.js';

/** A world-time window named by the query, [from, to) in ms. */
export interface DateWindow {
  readonly from: number;
  readonly to: number;
}

export interface AnalysedQuery {
  readonly text: string;
  /** Content words, stopwords removed, in query order; empty when the query is only stopwords. */
  readonly keywords: readonly string[];
  /** Windows of the dates the query mentions (resolved against `now`). */
  readonly dates: readonly DateWindow[];
  /** Lower-cased capitalised words that are not sentence-initial stopwords ("caroline", "sweden"). */
  readonly names: readonly string[];
}

const DAY = 86_400_000;

/** The window a date mention stands for: its day, month or year (approximate ones ±3 days). */
export function windowOf(at: number, precision: DatePrecision): DateWindow {
  const d = new Date(at);
  switch (precision) {
    case 'day':
      return { from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()), to: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) + DAY };
    case 'month':
      return { from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), to: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
    case 'year':
      return { from: Date.UTC(d.getUTCFullYear(), 0, 1), to: Date.UTC(d.getUTCFullYear() + 1, 0, 1) };
    case 'approx':
      return { from: at - 3 * DAY, to: at + 3 * DAY };
  }
}

/** Analyses a query; relative dates ("last week") resolve against `now`. */
export function analyseQuery(text: string, now: number): AnalysedQuery {
  const keywords = [...new Set(contentTokens(text))];
  const dates = findDates(text, now).map((m) => windowOf(m.at, m.precision));
  const names = new Set<string>();
  for (const m of text.matchAll(/\b\p{Lu}[\p{L}'’-]*/gu)) {
    const word = m[0].replace(/['’]s$/, '').toLowerCase();
    if (word.length > 1 && !isStopword(word)) names.add(word);
  }
  return { text, keywords, dates, names: [...names] };
}

/** Whether an instant falls inside any of the windows. */
export function inWindows(at: number, windows: readonly DateWindow[]): boolean {
  return windows.some((w) => at >= w.from && at < w.to);
}
