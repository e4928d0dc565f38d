/**
 * The text signals of the A-MemGuard check: instruction-like content aimed at the agent and rare
 * trigger-like tokens. Each returns weights in 0..1 that the guard combines (noisy-OR) with the
 * source role, consensus and lesson signals.
 */

/** One instruction-like pattern and how strongly it alone suggests an injection. */
interface InstructionRule {
  readonly re: RegExp;
  readonly weight: number;
  readonly label: string;
}

const URL = /\bhttps?:\/\/\S+|\bwww\.[^\s.]+\.\S+/i;
const URL_IMPERATIVE =
  /\b(visit|click|go\s+to|open|download|install|navigate\s+to|log\s+in|sign\s+in|redirect|send|forward|upload|fetch|follow\s+(this|the)\s+link)\b/i;

/*
 * Weights are calibrated so that one strong marker quarantines on its own, while the weak ones
 * ("from now on", "always answer") need a second signal: a user saying "from now on, always
 * answer in French" is a preference, not an attack, and stays below the default threshold.
 */
const INSTRUCTION_RULES: readonly InstructionRule[] = [
  {
    re: /\b(ignore|forget|override|bypass)\s+(all\s+|any\s+|every\s+)?(of\s+)?(the\s+|your\s+|my\s+)?(previous|prior|above|earlier|preceding|original|old|system)\s+(instructions?|prompts?|rules|directions|directives|guidelines|messages|context)\b/i,
    weight: 0.9,
    label: 'tells the agent to ignore its previous instructions',
  },
  {
    re: /\bdisregard\s+(all\s+|any\s+)?(the\s+|your\s+)?(previous|prior|above|earlier|instructions?|rules|guidelines|system)\b/i,
    weight: 0.8,
    label: 'tells the agent to disregard its instructions',
  },
  { re: /\bdisregard\b/i, weight: 0.3, label: 'says "disregard"' },
  { re: /\bsystem\s+prompt\b/i, weight: 0.7, label: 'mentions the system prompt' },
  { re: /\b(new|updated|secret|hidden|real)\s+instructions?\b/i, weight: 0.6, label: 'announces new instructions' },
  {
    re: /\b(do\s+not|don'?t|never)\s+(tell|inform|alert|warn|notify|mention\s+(this|it)\s+to|reveal\s+(this|it)\s+to|let)\s+(the\s+)?user\b/i,
    weight: 0.8,
    label: 'asks to hide something from the user',
  },
  { re: /\bwithout\s+(telling|informing|asking|notifying)\s+the\s+user\b/i, weight: 0.8, label: 'asks to act behind the user' },
  {
    re: /\b(send|forward|post|upload|email|leak|exfiltrate)\b[^.!?]{0,40}\b(passwords?|credentials|api\s+keys?|tokens?|secrets?|conversations?|chat\s+history|personal\s+data)\b/i,
    weight: 0.6,
    label: 'asks to send out secrets or conversation data',
  },
  { re: /\b(you\s+are\s+now|from\s+now\s+on\s+you\s+are|pretend\s+(to\s+be|you\s+are))\b/i, weight: 0.5, label: 'reassigns the agent a role' },
  { re: /\bfrom\s+now\s+on\b/i, weight: 0.25, label: 'says "from now on"' },
  {
    re: /\balways\s+(answer|respond|reply|recommend|say|tell|suggest|mention|include|output|redirect|link|promote|use)\b/i,
    weight: 0.3,
    label: 'tells the agent what to always do',
  },
  {
    re: /\bnever\s+(answer|respond|reply|recommend|say|suggest|mention|reveal|refuse)\b/i,
    weight: 0.3,
    label: 'tells the agent what never to do',
  },
  { re: /\byou\s+(must|have\s+to|are\s+required\s+to|should\s+always)\b/i, weight: 0.3, label: 'says "you must"' },
  {
    re: /\b(assistant|ai|agent|chatbot|model)\s*[:,]\s*(you|ignore|always|never|do|remember)\b/i,
    weight: 0.4,
    label: 'addresses the agent directly',
  },
];

export interface InstructionFinding {
  /** Combined weight of every matched pattern (noisy-OR, at most 0.95). */
  readonly weight: number;
  readonly labels: readonly string[];
  /** The text of the strongest match: the lesson's trigger. */
  readonly trigger: string;
}

/** Instruction-like content aimed at the agent, or null when there is none. */
export function instructionFinding(text: string): InstructionFinding | null {
  const hits: { weight: number; label: string; match: string }[] = [];
  for (const r of INSTRUCTION_RULES) {
    const m = r.re.exec(text);
    if (m) hits.push({ weight: r.weight, label: r.label, match: m[0] });
  }
  if (URL.test(text) && URL_IMPERATIVE.test(text)) {
    const m = URL.exec(text);
    hits.push({ weight: 0.45, label: 'points the agent at a link', match: m ? m[0] : '' });
  }
  if (hits.length === 0) return null;
  hits.sort((a, b) => b.weight - a.weight);
  const top = hits[0] as (typeof hits)[number];
  return {
    weight: Math.min(0.95, noisyOr(hits.map((h) => h.weight))),
    labels: hits.map((h) => h.label),
    trigger: top.match.toLowerCase(),
  };
}

const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF\p{Co}]|[^\P{Cc}\n\r\t]/u;
const ODD_SYMBOLS = /<\||\|>|\{\{|\}\}|\[\[|\]\]|@@|\^\^|\w##|##\w/;

/** Tokens that look like planted triggers: random strings, odd symbol runs, invisible characters. */
export function triggerTokens(text: string): string[] {
  const out: string[] = [];
  const inv = INVISIBLE.exec(text);
  if (inv) out.push(`U+${(inv[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`);
  for (const raw of text.split(/\s+/)) {
    if (raw === '') continue;
    if (ODD_SYMBOLS.test(raw)) {
      out.push(raw);
      continue;
    }
    const tok = raw.replace(/^[("'[{<]+|[)"'\]}>.,;:!?]+$/g, '');
    if (isRandomLooking(tok)) out.push(tok);
  }
  return [...new Set(out)];
}

/** A token that no natural word, name, number or date looks like. */
function isRandomLooking(tok: string): boolean {
  if (tok.length < 6 || !/^[A-Za-z0-9]+$/.test(tok)) return false;
  const hasLetter = /[A-Za-z]/.test(tok);
  const hasDigit = /[0-9]/.test(tok);
  if (hasLetter && hasDigit) {
    // "x7k2q9": letters and digits interleaved; "COVID19", "mp3", "2nd", "B2B" have few switches.
    let switches = 0;
    for (let i = 1; i < tok.length; i++) if (/\d/.test(tok[i] as string) !== /\d/.test(tok[i - 1] as string)) switches++;
    return switches >= 3;
  }
  if (!hasLetter) return false;
  // "xQzTkP": case flipping back and forth ("iPhone", "McDonald", "JavaScript" flip at most twice).
  let flips = 0;
  for (let i = 1; i < tok.length; i++) {
    const a = tok[i - 1] as string;
    const b = tok[i] as string;
    if ((a === a.toUpperCase()) !== (b === b.toUpperCase())) flips++;
  }
  if (flips >= 4) return true;
  // Long consonant-only strings ("xkcdqwzt"); y counts as a vowel so "rhythms" passes.
  return tok.length >= 7 && !/[aeiouy]/i.test(tok);
}

/** 1 − Π(1 − wᵢ): independent pieces of evidence that each could mean an attack. */
export function noisyOr(weights: readonly number[]): number {
  let keep = 1;
  for (const w of weights) keep *= 1 - Math.min(1, Math.max(0, w));
  return 1 - keep;
}
