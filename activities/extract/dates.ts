/**
 * Relative and absolute dates in a message ("last Tuesday", "next month", "two years ago",
 * "on 3 May", "in 2022"), resolved against the message's world time with chrono-node. Resolution
 * is done in UTC so that the result does not depend on the machine's time zone.
 */
import * as chrono from 'chrono-node';

/** How precisely a mention pins its date down; it decides how the date is written into a fact. */
export type DatePrecision = 'day' | 'month' | 'year' | 'approx';

/** One date found in a text. */
export interface DateMention {
  /** The matched words, as written ("last Tuesday"). */
  readonly text: string;
  /** Offset of the match in the text. */
  readonly index: number;
  /** The resolved instant, ms since epoch (UTC). */
  readonly at: number;
  readonly precision: DatePrecision;
}

/** Matches chrono accepts but that are almost always something else ("in the sun", "we sat", "now", "a quiet weekend"). */
const REJECT =
  /^(?:now|right now|sun|sat|mon|tue|tues|wed|thu|thur|thurs|fri|second|a second|(?:the )?(?:weekend|morning|evening|afternoon|night|noon|midnight))$/i;
/** Durations ("for 4 years", "two weeks") are not dates; "two weeks ago" and "in two weeks" are. */
const DURATION =
  /^(?:for\s+)?(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a few|few|several|couple of|a couple of|\d+)\s+(?:years?|months?|weeks?|days?|hours?|minutes?|decades?)$/i;

/** Bare years chrono leaves alone: "in 2022", "since 2019", "back in 1998". */
const YEAR = /\b(?:in|since|back in|around|during|from)\s+((?:19|20)\d\d)\b/gi;

function precisionOf(result: chrono.ParsedResult): DatePrecision {
  const s = result.start;
  if (s.isCertain('day') || s.isCertain('weekday')) return 'day';
  if (s.isCertain('month')) return 'month';
  if (s.isCertain('year')) return 'year';
  // A bare time ("at 5pm") is on the reference day.
  if (s.isCertain('hour')) return 'day';
  return 'approx';
}

/** All date mentions in `text`, in text order, resolved against `refMs` (ms since epoch); `forward` reads ambiguous ones as ahead. */
export function findDates(text: string, refMs: number, opts: { forward?: boolean } = {}): DateMention[] {
  const out: DateMention[] = [];
  // forwardDate: an ambiguous mention ("on Sunday") resolves to the coming one, for present/future tense.
  for (const r of chrono.parse(text, { instant: new Date(refMs), timezone: 0 }, { forwardDate: opts.forward ?? false })) {
    const matched = r.text.trim();
    if (REJECT.test(matched) || DURATION.test(matched)) continue;
    const at = r.start.date().getTime();
    if (!Number.isFinite(at)) continue;
    out.push({ text: r.text, index: r.index, at, precision: precisionOf(r) });
  }
  for (const m of text.matchAll(YEAR)) {
    const index = m.index;
    if (out.some((d) => index < d.index + d.text.length && d.index < index + m[0].length)) continue;
    out.push({ text: m[0], index, at: Date.UTC(Number(m[1]), 0, 1), precision: 'year' });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** ISO calendar date (UTC) of an instant: "2023-05-09". */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The date as written into a fact: "on 2023-05-09" (day), "in 2023-06" (month), "in 2022" (year),
 * "around 2021-05-10" (a vague offset such as "two years ago").
 */
export function datePhrase(mention: DateMention): string {
  const iso = isoDate(mention.at);
  switch (mention.precision) {
    case 'day':
      return `on ${iso}`;
    case 'month':
      return `in ${iso.slice(0, 7)}`;
    case 'year':
      return `in ${iso.slice(0, 4)}`;
    case 'approx':
      return `around ${iso}`;
  }
}
