/**
 * Extractive session summaries (MemGAS session granularity): the most informative sentences of a
 * session by TF-IDF over the session's own sentences, bounded in number and length, kept in
 * conversation order and attributed to their speakers.
 */
import type { SessionTurn } from '../../core/pipeline.js';
import { splitSentences } from './clauses.js';
import { isoDate } from './dates.js';
import { isLowInformation } from './information.js';
import { contentTokens, lemma } from './keywords.js';

/** Bounds of a summary. */
export interface SummaryOptions {
  /** At most this many sentences. */
  readonly maxSentences: number;
  /** At most this many characters of selected sentences (the first is always kept). */
  readonly maxChars: number;
}

/** Default summary bounds. */
export const DEFAULT_SUMMARY_OPTIONS: SummaryOptions = { maxSentences: 6, maxChars: 700 };

/** A session summary. */
export interface SessionSummary {
  readonly text: string;
  /** Speakers in order of first appearance. */
  readonly speakers: readonly string[];
  /** The selected sentences, in conversation order, without speaker labels. */
  readonly sentences: readonly string[];
  /** Indexes (into the input turns) of the turns the selected sentences come from, ascending. */
  readonly turns: readonly number[];
}

interface Sentence {
  readonly speaker: string;
  readonly text: string;
  readonly order: number;
  readonly turn: number;
  readonly terms: readonly string[];
  readonly question: boolean;
}

/** Score of a sentence: summed TF-IDF of its distinct terms over the square root of their number, plus names and numbers. */
function scoreOf(s: Sentence, idf: ReadonlyMap<string, number>): number {
  const distinct = new Set(s.terms);
  if (distinct.size === 0) return 0;
  let sum = 0;
  for (const t of distinct) sum += idf.get(t) ?? 0;
  const names = [...s.text.matchAll(/(?<=\S\s)\p{Lu}\p{Ll}+/gu)].length;
  const numbers = [...s.text.matchAll(/\b\d+\b/g)].length;
  const score = sum / Math.sqrt(distinct.size) + 0.5 * Math.min(names, 3) + 0.3 * Math.min(numbers, 2);
  return s.question ? score * 0.5 : score;
}

/** Summarises the turns of one session; null when nothing in it is informative. */
export function summariseSession(
  turns: readonly SessionTurn[],
  opts: SummaryOptions = DEFAULT_SUMMARY_OPTIONS,
): SessionSummary | null {
  if (turns.length === 0) return null;
  const sentences: Sentence[] = [];
  const speakers: string[] = [];
  for (const [turnIndex, turn] of turns.entries()) {
    if (!speakers.includes(turn.speaker)) speakers.push(turn.speaker);
    // Image captions describe attachments; the episodes keep them, the summary keeps what was said.
    for (const text of splitSentences(turn.text.replace(/\[image: [^\]]*\]/g, ' '))) {
      if (isLowInformation(text)) continue;
      sentences.push({
        speaker: turn.speaker,
        text,
        order: sentences.length,
        turn: turnIndex,
        terms: contentTokens(text).map(lemma),
        question: /\?\s*$/.test(text),
      });
    }
  }
  if (sentences.length === 0) return null;

  const df = new Map<string, number>();
  for (const s of sentences) for (const t of new Set(s.terms)) df.set(t, (df.get(t) ?? 0) + 1);
  const n = sentences.length;
  const idf = new Map<string, number>();
  for (const [t, d] of df) idf.set(t, Math.log((n + 1) / (d + 1)) + 1);

  const ranked = sentences
    .map((s) => ({ s, score: scoreOf(s, idf) }))
    .sort((a, b) => b.score - a.score || a.s.order - b.s.order);
  const chosen: Sentence[] = [];
  let chars = 0;
  for (const { s } of ranked) {
    if (chosen.length >= opts.maxSentences) break;
    if (chosen.length > 0 && chars + s.text.length > opts.maxChars) continue;
    chosen.push(s);
    chars += s.text.length;
  }
  chosen.sort((a, b) => a.order - b.order);

  const parts: string[] = [];
  let current: string | null = null;
  for (const s of chosen) {
    const body = /[.!?…]$/.test(s.text) ? s.text : `${s.text}.`;
    if (s.speaker === current) parts.push(body);
    else parts.push(`${s.speaker}: ${body}`);
    current = s.speaker;
  }
  const first = turns.reduce((min, t) => Math.min(min, t.occurredAt), Number.POSITIVE_INFINITY);
  const who = speakers.length === 1 ? (speakers[0] as string) : `${speakers.slice(0, -1).join(', ')} and ${speakers[speakers.length - 1] as string}`;
  const text = `Conversation on ${isoDate(first)} with ${who}. ${parts.join(' ')}`;
  return { text, speakers, sentences: chosen.map((s) => s.text), turns: [...new Set(chosen.map((s) => s.turn))] };
}
