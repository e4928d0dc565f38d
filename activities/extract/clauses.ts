/**
 * Splits a chat message into clauses that the fact patterns can read: contractions expanded
 * ("I'm" → "I am", "don't" → "do not"), sentences split, compound sentences split where a new
 * subject starts ("…, and I work at…") or where the subject is shared ("I live in Boston and work
 * at…": the second clause inherits the subject).
 */

/** One clause of a message. */
export interface Clause {
  readonly text: string;
  /** A question (or the questioning tail of a sentence): never a source of facts. */
  readonly question: boolean;
  /** The clause starts with a verb whose subject is the previous clause's subject. */
  readonly inherit: boolean;
  /** Introduced by "because", "since", "when", "after"…: background, not a statement of its own. */
  readonly subordinate: boolean;
  /** Introduced by "if", "unless", "whether": hypothetical, never a fact. */
  readonly hypothetical: boolean;
}

const CONTRACTIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/[’‘]/g, "'"],
  [/[“”]/g, '"'],
  [/\bi'm\b/gi, 'I am'],
  [/\bim\b(?= [a-z])/g, 'I am'],
  [/\bi've\b/gi, 'I have'],
  [/\bi'd\b/gi, 'I would'],
  [/\bi'll\b/gi, 'I will'],
  [/\bwe're\b/gi, 'we are'],
  [/\bwe've\b/gi, 'we have'],
  [/\bwe'd\b/gi, 'we would'],
  [/\bwe'll\b/gi, 'we will'],
  [/\b(he|she|it|that|there|what|who)'s (been|got|had|gotten)\b/gi, '$1 has $2'],
  [/\b(he|she|it|that|there|what|who)'s\b/gi, '$1 is'],
  [/\b(you|they)'re\b/gi, '$1 are'],
  [/\bcan'?t\b/gi, 'cannot'],
  [/\bwon't\b/gi, 'will not'],
  [/\b(do|does|did|is|are|was|were|have|has|had|could|would|should|must|need)n'?t\b/gi, '$1 not'],
  [/\bain't\b/gi, 'am not'],
  [/\bgonna\b/gi, 'going to'],
  [/\bwanna\b/gi, 'want to'],
  [/\bfav(?:ou?rite)?\b/gi, 'favourite'],
  [/\bfavorite\b/gi, 'favourite'],
  [/\bi\b/g, 'I'],
];

/** Expands the contractions the fact patterns rely on and normalises quotes. */
export function expandContractions(text: string): string {
  let out = text;
  for (const [re, by] of CONTRACTIONS) out = out.replace(re, by);
  return out;
}

/** Abbreviations whose full stop does not end a sentence. */
const ABBREVIATIONS = /\b(Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|etc|e\.g|i\.e|approx|Mt)\.$/i;

/** Sentences of a text, each with its closing punctuation. */
export function splitSentences(text: string): string[] {
  const parts = text.split(/(?<=[.!?…])\s+|\n+/);
  const out: string[] = [];
  for (const raw of parts) {
    const part = raw.trim();
    if (part.length === 0) continue;
    const last = out[out.length - 1];
    if (last !== undefined && ABBREVIATIONS.test(last)) out[out.length - 1] = `${last} ${part}`;
    else out.push(part);
  }
  return out;
}

/** Words that open a clause with its own subject. */
const SUBJECT_START = String.raw`(?:I|we|We|my|My|he|He|she|She|they|They|it|It|this|This|there|There)\b`;
/** Words that open a subordinate clause. */
const SUBORDINATORS =
  'because|cause|since|although|though|while|whereas|if|unless|whether|when|whenever|after|before|until|once|as soon as';
/** Verbs after "and" that continue the previous clause's subject. */
const CONTINUING_VERBS = String.raw`(?:live|lives|work|works|love|loves|like|likes|enjoy|enjoys|hate|hates|moved|went|visited|have|has|am|is|study|studies|prefer|prefers|plan|plans|got|adopted|started|stopped|traveled|travelled|met|spent|bought|play|plays|took|made|joined|finished|graduated|teach|teaches|volunteer|volunteered|own|owns|never|also|just|recently|really|still|no longer|do not|does not|did not|cannot|will|want|wants|need|needs|turned|became|painted|ran|won|lost)\b`;
/** Openings of a question. */
const QUESTION_START =
  /^(?:do|does|did|are|is|was|were|have|has|can|could|would|will|should|what|where|when|why|how|who|whom|which|whose|and you|you too|wanna|want to)\b/i;
/** Interjections and hedges stripped from a clause's start. */
const LEADING_NOISE =
  /^(?:(?:oh|ohh|well|so|yeah|yes|yep|no|nope|and|but|also|actually|honestly|btw|by the way|anyway|anyways|plus|lol|haha|hey|wow|ok|okay|hmm|um|guess what|fun fact|in fact|oh yeah|oh and|speaking of which|to be honest|tbh|sure|right|now|then|omg|instead|just to be clear|to be clear|for the record|just so you know|fyi|sorry|oops|whoops)\b[,!.:]*\s*)+/i;
/** Hedges whose complement is the real statement: "I think (that) Melanie lives in Boston". */
const HEDGE = /^I (?:think|guess|believe|suppose|feel like|reckon|mean)(?: that)?,?\s+/;

/** Strips emoji and symbols that carry no words (keeps letters, digits and ordinary punctuation). */
export function stripSymbols(text: string): string {
  return text
    .replace(/[\p{Extended_Pictographic}\u{FE0F}\u{200D}]/gu, ' ')
    .replace(/[ \t]+/g, ' ')
    .trim();
}

/** Cleans a clause's start: interjections, hedges, stray punctuation. */
export function cleanClauseStart(text: string): string {
  let out = text.replace(/^[\s,;:.!?"'()*-]+/, '');
  for (let i = 0; i < 3; i++) {
    const next = out.replace(LEADING_NOISE, '').replace(HEDGE, '');
    if (next === out) break;
    out = next;
  }
  return out.trim();
}

/** Clauses of a message, in order. */
export function splitClauses(message: string): Clause[] {
  const out: Clause[] = [];
  for (const sentence of splitSentences(stripSymbols(expandContractions(message)))) {
    const isQuestionSentence = /\?\s*["')]*$/.test(sentence);
    const pieces: Array<{ text: string; inherit: boolean }> = [];
    const subjectSplit = new RegExp(
      String.raw`\s*(?:[;:]|\s[-–—]\s|,?\s+(?=(?:and|but|so|plus|${SUBORDINATORS})\s+${SUBJECT_START})|,\s+(?=${SUBJECT_START})|,\s+(?=(?:do|does|did|are|have|has|what|how|where|why|who|and you|you)\b))`,
    );
    for (const part of sentence.split(subjectSplit)) {
      const inheritSplit = new RegExp(String.raw`,?\s+(?:and|but|then|and then)\s+(?=${CONTINUING_VERBS})`);
      part.split(inheritSplit).forEach((p, i) => pieces.push({ text: p, inherit: i > 0 }));
    }
    // "Niamh and I got engaged": a name alone before "and I" is half of a joint subject, not a clause.
    for (let i = pieces.length - 2; i >= 0; i--) {
      const left = pieces[i] as { text: string; inherit: boolean };
      const right = pieces[i + 1] as { text: string; inherit: boolean };
      if (/^\s*\p{Lu}\p{Ll}+(?: \p{Lu}\p{Ll}+)?\s*$/u.test(left.text) && /^\s*and I\b/.test(right.text)) {
        pieces.splice(i, 2, { text: `${left.text.trim()} ${right.text.trim()}`, inherit: left.inherit });
      }
    }
    pieces.forEach((p, i) => {
      let text = cleanClauseStart(p.text.replace(/[.!?…"]+$/, '').trim());
      const sub = new RegExp(String.raw`^(${SUBORDINATORS})\s+`, 'i').exec(text);
      if (sub) text = cleanClauseStart(text.slice(sub[0].length));
      if (text.length === 0) return;
      const hypothetical = sub !== null && /^(?:if|unless|whether)$/i.test(sub[1] as string);
      const last = i === pieces.length - 1;
      const question = (!p.inherit && QUESTION_START.test(text)) || (last && isQuestionSentence);
      out.push({ text, question, inherit: p.inherit, subordinate: sub !== null, hypothetical });
    });
  }
  return out;
}
