/**
 * How much a turn says (SimpleMem's entropy-aware filtering, without a model): phatic turns
 * ("ok", "haha", "thanks", greetings, emoji) are recognised so that they never yield facts, and
 * every turn gets an information score in 0..1 from its content words and their entropy.
 */
import { contentTokens, lemma, tokenize } from './keywords.js';

/** Words that make up phatic turns: acknowledgements, laughter, thanks, greetings, farewells. */
const PHATIC = new Set(
  `ok okay k kk okey alright allright right sure yes yeah yea yep yup ya no nope nah fine cool nice great
  awesome good perfect wow omg oh ohh ah ahh aw aww hmm hm um uh lol lmao rofl haha hahaha hah heh hehe xd
  thanks thank thx ty tysm you so much very a lot hi hey hello hiya yo morning evening night afternoon
  bye goodbye cya see later ttyl gn gm welcome np problem worries sounds same too me agreed agree true
  indeed exactly totally definitely absolutely of course really seriously congrats congratulations
  cheers please sorry yay`.split(/\s+/),
);

/** True when a turn is empty, emoji-only, or made only of phatic words ("ok", "haha", "thanks!"). */
export function isPhatic(text: string): boolean {
  const tokens = tokenize(text);
  return tokens.length === 0 || tokens.every((t) => PHATIC.has(t));
}

/**
 * True when a turn carries no memorable information: phatic, without a single content word, or
 * very short (fewer than three words of which fewer than two are content words, such as "love it").
 */
export function isLowInformation(text: string): boolean {
  if (isPhatic(text)) return true;
  const tokens = tokenize(text);
  const content = tokens.filter((t) => /^\d+$/.test(t) || contentTokens(t).length > 0);
  return content.length === 0 || (content.length < 2 && tokens.length < 3);
}

/** True when a text has no letters or digits at all (emoji, punctuation, white space). */
export function isEmpty(text: string): boolean {
  return !/[\p{L}\p{N}]/u.test(text);
}

/**
 * Information score in 0..1: grows with the number of distinct content words (saturating at 12),
 * with capitalised words that look like names (saturating at 3), and with the normalised Shannon
 * entropy of the content-word distribution (a repetitive turn says less than a varied one).
 */
export function informationScore(text: string): number {
  if (isLowInformation(text)) return 0;
  const content = contentTokens(text).map(lemma);
  const counts = new Map<string, number>();
  for (const t of content) counts.set(t, (counts.get(t) ?? 0) + 1);
  let entropy = 0;
  for (const n of counts.values()) {
    const p = n / content.length;
    entropy -= p * Math.log2(p);
  }
  const maxEntropy = Math.log2(Math.max(2, content.length));
  const names = new Set(
    [...text.matchAll(/(?<=[\p{L}\p{N},;:] )\p{Lu}[\p{Ll}]+/gu)].map((m) => m[0]),
  ).size;
  const score =
    0.55 * Math.min(1, counts.size / 12) + 0.25 * Math.min(1, names / 3) + 0.2 * (entropy / maxEntropy);
  return Math.round(Math.min(1, Math.max(0, score)) * 1000) / 1000;
}
