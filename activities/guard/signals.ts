/**
 * The text signals of the A-MemGuard check, written from the attack classes of the literature
 * rather than from any one attack text:
 *
 * - instruction injection (indirect prompt injection, A-MemGuard): content addressed to the agent
 *   rather than stating something about the user: overrides of earlier instructions, an explicit
 *   addressee ("note to the AI"), fake system markup, standing behavioural rules, concealment
 *   from the user, sending data or credentials out, pushing a link for log-in or payment;
 * - trigger-keyed records (AgentPoison): a record that says what to do when some phrase appears,
 *   demonstration-shaped records, and trigger-like tokens used as keys;
 * - bridging (MINJA): indication notes and claims that redirect the user's assets, records or
 *   orders to someone or somewhere else.
 *
 * Each finding has a weight in 0..1 that the guard combines (noisy-OR) with the source role,
 * consensus and lesson signals. Weak markers ("from now on", "always answer") never reach the
 * threshold alone, so a user's own preference ("from now on answer in French") stays a memory.
 */

/** One pattern and how strongly it alone suggests an attack. */
interface Rule {
  readonly re: RegExp;
  readonly weight: number;
  readonly label: string;
}

const AGENT = String.raw`(?:ai|a\.i\.|assistants?|agents?|bots?|chatbots?|models?|llms?|language\s+models?|ai\s+(?:assistants?|agents?|systems?|models?|shopping\s+agents?|shopping\s+assistants?)|gpts?|copilots?)`;
const EARLIER = String.raw`(?:previous|prior|above|earlier|preceding|original|old|other|existing|stored|system|initial)`;
const GUIDANCE = String.raw`(?:instructions?|prompts?|rules|directions|directives|guidelines|guidance|advice|messages|context|preferences|settings|results|policies|constraints|training)`;
const SENSITIVE = String.raw`(?:passwords?|passcodes?|pins?|credentials|api\s+keys?|tokens?|secrets?|conversations?|chats?|chat\s+history|messages|emails|contacts?(?:\s+list)?|address\s+book|documents?|files|photos|passports?(?:\s+scans?)?|ids?|id\s+cards?|statements?|invoices?|bank\s+details|card\s+(?:numbers?|details)|personal\s+data|location|medical\s+records?|health\s+records?)`;

/*
 * Instruction injection: text that tells the agent how to behave. Weights are calibrated so
 * that an unambiguous marker quarantines on its own and the weak ones need company.
 */
const INSTRUCTION_RULES: readonly Rule[] = [
  {
    re: new RegExp(String.raw`\b(?:ignore|forget|override|bypass|disregard|drop)\s+(?:all\s+|any\s+|every\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+|their\s+|its\s+|the\s+user'?s\s+|these\s+)?${EARLIER}\s+${GUIDANCE}\b`, 'i'),
    weight: 0.9,
    label: 'tells the agent to ignore its previous instructions',
  },
  {
    re: new RegExp(String.raw`\bdisregard\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:${EARLIER}|${GUIDANCE})`, 'i'),
    weight: 0.8,
    label: 'tells the agent to disregard its instructions',
  },
  { re: /\boverrides?\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:earlier|previous|prior|other|existing|system)\b|\btakes?\s+precedence\s+over\b/i, weight: 0.75, label: 'claims to override earlier instructions' },
  { re: /\bdisregard\b/i, weight: 0.3, label: 'says "disregard"' },
  { re: /\bsystem\s+prompt\b|\bdeveloper\s+mode\b|\bjailbr(?:eak|oken)\b/i, weight: 0.7, label: 'mentions the system prompt or a jailbreak' },
  {
    re: /(?:^|[\s[(<"'#*])(?:system|admin|developer|root)\s*(?:override|instruction|message|note|notice|command|prompt)?\s*[:\]]|\[\/?(?:inst|system|sys)\]|<\|?\/?(?:im_start|im_end|system|endoftext)\|?>|#{2,}\s*(?:system|instruction)/i,
    weight: 0.7,
    label: 'fake system markup',
  },
  { re: /\b(?:new|updated|secret|hidden|real|special|additional)\s+(?:instructions?|rules?\s+(?:for|from)|directives?)\b|\bnew\s+rule\b/i, weight: 0.55, label: 'announces new instructions' },
  {
    re: new RegExp(String.raw`\b(?:note|message|instructions?|attention|notice|reminder|memo|directive|warning)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+|every\s+)?${AGENT}\b`, 'i'),
    weight: 0.75,
    label: 'addressed to the agent ("note to the AI")',
  },
  {
    re: new RegExp(String.raw`\b(?:attention|dear|hey|hi|hello|ok|okay)\s+(?:the\s+|all\s+|any\s+)?${AGENT}\b|(?:^|[\s"'(\[])@${AGENT}\b|\b${AGENT}\s+instructions?\s*:`, 'i'),
    weight: 0.6,
    label: 'addressed to the agent',
  },
  {
    re: new RegExp(String.raw`\b(?:any|all|every)\s+${AGENT}\s+(?:reading|processing|parsing|summari[sz]ing|that\s+reads?|who\s+reads?)|\b${AGENT}\s+(?:reading|processing|parsing)\s+th(?:is|ese)\b|\b${AGENT}\s+(?:must|should|shall|are\s+required\s+to|have\s+to|need\s+to|are\s+to)\b`, 'i'),
    weight: 0.7,
    label: 'tells AI systems what to do',
  },
  {
    // A vocative: "Assistant, …", "Assistant — …", or a bracketed/commented "[assistant: …]".
    // A bare "assistant: " opening a line is a speaker label, not a vocative.
    re: new RegExp(String.raw`(?:^|[.!?;"'(]\s*)${AGENT}\s*(?:,|—|–|-\s)\s*(?:you|ignore|always|never|remember|forget|do|don'?t|from\s+now|tell|send|forward|recommend|reply|answer|say|only|quietly|please\s+(?:ignore|remember|forward|send|update|note))|(?:\[|<!--\s*|\(\s*)${AGENT}\s*:`, 'i'),
    weight: 0.5,
    label: 'addresses the agent directly',
  },
  { re: /<!--[\s\S]*?-->|\bhidden\s+text\b|\bdisplay\s*:\s*none\b|\binvisible\s+text\b/i, weight: 0.5, label: 'hidden content' },
  {
    re: /\b(?:do\s+not|don'?t|never|no\s+need\s+to)\s+(?:tell|inform|alert|warn|notify|show|bring\s+(?:this|it)\s+up\s+(?:with|to)|mention\s+(?:this|it)(?:\s+to)?|reveal\s+(?:this|it)\s+to|let)\s+(?:the\s+|this\s+)?(?:user|customer|owner|account\s+owner|them|him|her)\b/i,
    weight: 0.8,
    label: 'asks to hide something from the user',
  },
  {
    re: /\b(?:do\s+not|don'?t|never)\s+(?:mention|bring\s+up|disclose|reveal|tell\s+anyone\s+about)\s+(?:this|it)\b|\bdon'?t\s+bring\s+(?:this|it)\s+up\b|\b(?:hide|conceal)\s+(?:this|these)\s+(?:note|message|instructions?|text)\b|\bkeep\s+(?:this|it)\s+(?:between\s+us|secret|quiet|hidden)\b/i,
    weight: 0.6,
    label: 'asks for secrecy',
  },
  {
    re: /\bwithout\s+(?:telling|informing|asking|notifying|consulting|confirming\s+with|checking\s+with)\b|\bwithout\s+(?:confirmation|asking\s+again|approval|consent|checking)\b|\b(?:quietly|silently|secretly)\s+(?:forward|send|share|transfer|copy|delete|move|pay|email|upload)\b/i,
    weight: 0.7,
    label: 'asks to act behind the user',
  },
  {
    re: /\b(?:(?:the\s+)?(?:user|account\s+owner|owner|customer|tenant|client)|[A-Z][a-z]+)\s+(?:has\s+|have\s+)?(?:already\s+)?(?:approved|authori[sz]ed|agreed|consented|asked\s+(?:me|us)\s+to\s+tell\s+you)\b|\b(?:it'?s|it\s+is|this\s+is)\s+already\s+(?:approved|authori[sz]ed)\b|\bper\s+(?:the\s+)?(?:new|updated|company|security)\s+(?:policy|rules?|guidelines)\b/i,
    weight: 0.45,
    label: 'claims an authorisation',
  },
  {
    re: new RegExp(String.raw`\b${SENSITIVE}\b[^.!?]{0,30}?\b(?:sent|forwarded|e-?mailed|mailed|shared|uploaded|copied|exported|transferred|leaked)\s+(?:to|with)\s+(?:\S+@\S+|https?://\S+|[+(]?\d[\d\s()-]{6,})`, 'i'),
    weight: 0.65,
    label: 'asks to send data or documents out',
  },
  {
    re: new RegExp(String.raw`\b(?:send|sending|forward|forwarding|post|posting|upload|uploading|email|emailing|e-mail|mail|leak|exfiltrate|share|sharing|copy|copying|export|exporting|transfer|sync|syncing)\b[^.!?]{0,60}\b${SENSITIVE}\b[^.!?]{0,40}?\b(?:to|with)\s+(?:\S+@\S+|https?://\S+|[+(]?\d[\d\s()-]{6,})|\b(?:send|forward|post|upload|email|mail|leak|exfiltrate|share|copy|export)\b[^.!?]{0,12}\b(?:a\s+copy\s+of\s+)?(?:every|all)\s+(?:conversations?|chats?|messages|emails|invoices|statements)\b`, 'i'),
    weight: 0.65,
    label: 'asks to send data or documents out',
  },
  {
    re: /\b(?:read\s+out|share|give|tell\s+(?:us|them|me)|provide|enter|type|confirm|ask\s+(?:for|them\s+for|the\s+user\s+for))\s+(?:the\s+|their\s+|your\s+|his\s+|her\s+)?(?:full\s+)?(?:card\s+(?:number|pin|details)|pin(?:\s+code)?|password|passcode|cvv|security\s+code|one-time\s+code|login\s+details|credentials|bank\s+details)\b/i,
    weight: 0.7,
    label: 'asks for credentials',
  },
  {
    re: /\b(?:you\s+are\s+now|from\s+now\s+on\s+you\s+are|pretend\s+(?:to\s+be|you\s+are)|act\s+as\s+(?:if\s+you\s+were|an?\s+(?:unrestricted|unfiltered)))\b/i,
    weight: 0.5,
    label: 'reassigns the agent a role',
  },
  { re: /\bfrom\s+now\s+on\b|\bgoing\s+forward\b|\bhenceforth\b/i, weight: 0.25, label: 'says "from now on"' },
  { re: /\b(?:in|for)\s+(?:all\s+|every\s+|any\s+)?(?:future|later|subsequent|upcoming)\s+(?:chats?|conversations?|sessions?|answers?|responses?|replies|requests?|questions?)\b|\bremember\s+this\s+for\s+(?:all|every|future)\b|\bupdate\s+your\s+(?:memory|notes|records)\b/i, weight: 0.35, label: 'a standing rule for future conversations' },
  {
    re: /\balways\s+(?:answer|respond|reply|recommend|say|tell|suggest|mention|include|output|redirect|link|promote|use|send|book|buy|direct|refer)\b/i,
    weight: 0.3,
    label: 'tells the agent what to always do',
  },
  {
    re: /\bnever\s+(?:answer|respond|reply|recommend|say|suggest|mention|reveal|refuse|bring\s+up|warn)\b|\bnever\s+mention\s+(?:alternatives|competitors|other)\b/i,
    weight: 0.3,
    label: 'tells the agent what never to do',
  },
  {
    re: /\b(?:only\s+(?:ever\s+)?(?:recommend|suggest|mention|use|promote)\b|the\s+only\s+[\w\s-]{1,30}?\s+(?:you\s+(?:are\s+allowed|may|can|should)|worth\s+(?:buying|using|recommending)|to\s+(?:recommend|suggest|use|buy)|(?:safe|trustworthy|legit(?:imate)?|reliable)\s+(?:option|choice|one))\b|(?:ignore|skip|hide)\s+the\s+other\s+(?:results|options|reviews|brands)\b|\b(?:competitors|alternatives)\s+are\s+(?:unsafe|scams?|dangerous)\b)/i,
    weight: 0.4,
    label: 'pushes one product and excludes others',
  },
  {
    // An imperative to the agent opening a clause of a record ("…; recommend it first").
    re: /(?:[;:]\s*|\.\s+|^)(?:recommend|suggest|reply|respond|answer|redirect|forward|transfer|pay|book|buy|promote|direct)\s+(?:it|this|that|them|only|all|every|the\s+user)\b/im,
    weight: 0.3,
    label: 'gives the agent an order',
  },
  { re: /\byou\s+(?:must|have\s+to|are\s+required\s+to|should\s+always|are\s+to|will\s+now)\b|\byour\s+(?:answers?|responses?|replies)\s+(?:must|should|shall|have\s+to)\b/i, weight: 0.3, label: 'says "you must"' },
];

const URL_RE = /\bhttps?:\/\/\S+|\bwww\.[^\s.]+\.\S+/i;
/** What a link pushed at the agent is for: log-in, verification, payment, installing, buying. */
const URL_PURPOSE =
  /\b(?:verif(?:y|ication)|re-?verif\w*|log\s*in|sign\s*in|password|pay|payment|deposit|settle|refund|claim|unlock|install|download|update\s+(?:your|the)|purchases?|orders?\s+(?:must|should)|book\w*\s+(?:\w+\s+){0,3}(?:via|through|at)|must\s+(?:be\s+)?(?:placed|made|done)\s+(?:through|via|at)|always\s+use)\b/i;

/** Trigger-keyed records (AgentPoison): what to do when some phrase shows up. */
const KEYED_RULES: readonly Rule[] = [
  {
    re: /\b(?:when|whenever|if|any\s+time|anytime|once)\s+(?:(?:you|we|i)\s+(?:ever\s+)?(?:see|hear|read|get|receive|spot|notice)|(?:anyone|someone|somebody|they|the\s+user|a\s+user|people)\s+(?:ever\s+)?(?:says?|types?|writes?|mentions?|uses?|sends?)|(?:a|the|any|this|that|your)\s+(?:message|request|query|question|prompt|input|text|instruction|conversation|chat)\s+(?:ever\s+)?(?:contains?|includes?|mentions?|has|says|carries|is\s+tagged)|(?:this|that|it|the\s+(?:phrase|word|code|tag|token|keyword))\s+(?:ever\s+)?(?:appears?|shows?\s+up|comes?\s+up|is\s+(?:said|used|typed|mentioned|present)))/i,
    weight: 0.45,
    label: 'a rule keyed on a phrase appearing',
  },
  {
    re: /\b(?:for\s+)?(?:any(?:thing)?|every|all)\s+(?:(?:message|request|query|question|prompt|input|text)s?\s+)?(?:mentioning|containing|including|tagged(?:\s+with)?|that\s+(?:mentions?|contains?|includes?))\b|\b(?:requests?|queries|questions?|messages?|prompts?)\s+(?:that\s+(?:include|contain|mention)|containing|including|tagged)\b|\bwhenever\s+[^,.;]{1,40}?\s+(?:comes?\s+up|appears?|is\s+(?:mentioned|said|present))\b/i,
    weight: 0.45,
    label: 'applies to requests carrying a phrase',
  },
  { re: /\b(?:code\s*word|pass\s*phrase|passphrase|safe\s*word|magic\s+word|trigger\s+(?:word|phrase)|keyword)\b/i, weight: 0.4, label: 'defines a code word' },
  {
    re: /\b(?:query|question|input|request|prompt|user)\s*:\s*[^\n]{2,160}?(?:→|->|=>|⇒)\s*(?:answer|action|output|response|reply|thought)\s*:|\b(?:the\s+)?(?:correct|right|proper|expected)\s+(?:answer|action|response|reply)\s+(?:for|to|is|was|would\s+be)\b|\bpast\s+case\b|\blearn(?:ed|t)\s+rule\b/i,
    weight: 0.4,
    label: 'a demonstration record (question → action)',
  },
  { re: /(?:^|\s)(?:memory\s+entry|entry|note|record|rule|tag)\s*[[(][^\])]{2,40}[\])]\s*:/i, weight: 0.3, label: 'a record keyed on a tag' },
];

/** Bridging (MINJA): an indication note, and redirection of the user's things to someone else. */
const BRIDGING_RULES: readonly Rule[] = [
  { re: /(?:^|[.!?(]\s*|\(\s*)(?:knowledge|note|fyi|fact|remember|context|hint|update)\s*:\s*\S|\bfyi\b/i, weight: 0.3, label: 'an indication note' },
  {
    // A substitution of what the user habitually buys or uses ("X's usual Y … replaced by Z").
    re: /\b(?:[A-Z][a-z]+'s|your|their|his|her)\s+(?:usual|regular|standing|normal|preferred|default|favourite|favorite)\s+[\w -]{2,30}?\b[^.!?]{0,80}?\b(?:replaced\s+(?:by|with)|substituted\s+(?:by|with)|instead\s+of|swapped\s+(?:for|with)|switch(?:ed)?\s+to|discontinued)\b/,
    weight: 0.35,
    label: 'substitutes what the user usually gets',
  },
  {
    re: /\b(?:are|is|were|was|have\s+been|has\s+been)\s+(?:now\s+)?(?:filed|stored|saved|kept|held|handled|listed|registered|managed|merged|moved|transferred|redirected|rerouted|linked|mapped)\s+(?:under|into|to|with)\b|\b(?:now\s+)?(?:filed|stored|saved|handled|listed|registered)\s+under\b|\bunder\s+\S+(?:\s+\S+)?'s\s+(?:account|file|name|record)\b/i,
    weight: 0.35,
    label: 'says records now sit under someone else',
  },
  {
    re: /\b(?:(?:has|have)\s+been\s+|was\s+|were\s+|is\s+|are\s+)?(?:replaced|superseded|substituted)\s+(?:by|with)\b|\b(?:now\s+goes|now\s+go|should\s+go|are\s+to\s+be\s+(?:sent|redirected|delivered)|will\s+be\s+(?:delivered|sent|paid))\s+(?:to|into)\b|\binstead\s+of\b|\b(?:changed|switched)\s+(?:banks?|accounts?|to\s+account)\b|\brefer\s+to\s+\S+/i,
    weight: 0.25,
    label: 'redirects something to a new target',
  },
  {
    // Someone's payments, records, deliveries or contacts now tied to a new person, account or place.
    re: /\b(?:[A-Z][a-z]+'s|your|their|his|her)\s+(?:[a-z]+\s+){0,2}(?:prescriptions?|refills?|rent|payments?|deliver(?:y|ies)|orders?|parcels?|records?|files?|test\s+results|(?:emergency\s+)?contacts?|accounts?|invoices?|salary|mail|post|documents?|insurance(?:\s+claims?)?|claims?|benefits|pension)\b[^.!?]{0,50}\b(?:now|instead|changed|replaced|merged|redirected|moved|under|from\s+now\s+on)\b[^.!?]{0,60}?(?:\baccount\b|\bfile\b|\baddress\b|\bnumber\b|\d{3,}|\b[A-Z][a-z]+\s+[A-Z][a-z]+\b|\d+\s+[A-Z][a-z]+\s+(?:Road|Street|Lane|Avenue|Close))/,
    weight: 0.45,
    label: 'ties someone\u2019s payments, records, deliveries or contacts to a new target',
  },
];

/** One finding of a signal family. */
export interface Finding {
  /** Combined weight of the matched patterns (noisy-OR, at most 0.95). */
  readonly weight: number;
  readonly labels: readonly string[];
  /** The text of the strongest match: a lesson's trigger. */
  readonly trigger: string;
}

/** Backwards-compatible name of an instruction finding. */
export type InstructionFinding = Finding;

function findings(text: string, rules: readonly Rule[], extra: { weight: number; label: string; match: string }[] = []): Finding | null {
  const hits = [...extra];
  for (const r of rules) {
    const m = r.re.exec(text);
    if (m) hits.push({ weight: r.weight, label: r.label, match: m[0].trim() });
  }
  if (hits.length === 0) return null;
  hits.sort((a, b) => b.weight - a.weight);
  // A lesson keys on a strong match that says something: "assistant" alone would match every turn,
  // and a weak marker ("from now on") would hold back every later preference of the user.
  const keyed = hits.find((h) => h.weight >= 0.5 && isDistinctive(h.match));
  return { weight: Math.min(0.95, noisyOr(hits.map((h) => h.weight))), labels: hits.map((h) => h.label), trigger: keyed ? keyed.match.toLowerCase() : '' };
}

/**
 * True when a phrase is specific enough to recognise a repeat by: at least two words, or one
 * token that looks planted (digits or symbols mixed in, six characters or more).
 */
export function isDistinctive(phrase: string): boolean {
  const words = phrase
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]+/gu, ' ')
    .split(/\s+/)
    .filter((w) => w.length > 0);
  if (words.length >= 2) return true;
  const raw = phrase.trim();
  return raw.length >= 6 && (/\d/.test(raw) || /[^\p{L}\p{N}\s]/u.test(raw) || isRandomLooking(raw));
}

/** Instruction-like content aimed at the agent, or null when there is none. */
export function instructionFinding(text: string): Finding | null {
  const extra: { weight: number; label: string; match: string }[] = [];
  const url = URL_RE.exec(text);
  if (url && URL_PURPOSE.test(text)) extra.push({ weight: 0.4, label: 'pushes a link for log-in, payment or purchases', match: url[0] });
  return findings(text, INSTRUCTION_RULES, extra);
}

/** A record keyed on a trigger phrase (AgentPoison), or null. */
export function keyedFinding(text: string): Finding | null {
  return findings(text, KEYED_RULES);
}

/** A bridging step (MINJA): indication notes and redirections of the user's things, or null. */
export function bridgingFinding(text: string): Finding | null {
  return findings(text, BRIDGING_RULES);
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
      out.push(raw.replace(/^["'(]+|["'),.;:!?]+$/g, ''));
      continue;
    }
    const tok = raw.replace(/^[("'[{<]+|[)"'\]}>.,;:!?]+$/g, '');
    if (isRandomLooking(tok)) out.push(tok);
  }
  return [...new Set(out)];
}

/** How a trigger-like token is used in its text. */
export interface TriggerUse {
  /** Trigger-like tokens (see triggerTokens). */
  readonly tokens: readonly string[];
  /** Symbol-wrapped tokens or invisible characters: rare in ordinary text. */
  readonly odd: boolean;
  /** A token (or a quoted or bracketed phrase) that occurs more than once: the record keys on it. */
  readonly repeated: string | null;
}

/**
 * The trigger-like tokens of a text and whether it keys on one. Identifiers (booking references,
 * tracking numbers, codes) look random too, so a lone token is weak evidence; a token or phrase
 * the text repeats, quotes as a key or wraps in symbols is stronger.
 */
export function triggerUse(text: string): TriggerUse {
  const tokens = triggerTokens(text);
  const odd = tokens.some((t) => t.startsWith('U+') || ODD_SYMBOLS.test(t));
  const lower = text.toLowerCase();
  let repeated: string | null = null;
  for (const t of tokens) {
    if (t.startsWith('U+')) continue;
    if (lower.split(t.toLowerCase()).length > 2) {
      repeated = t;
      break;
    }
  }
  if (repeated === null) {
    // A rare run of ordinary words used as a key: the same 3-word phrase twice in one record.
    const words = lower.replace(/[^\p{L}\p{N}\s]+/gu, ' ').split(/\s+/).filter((w) => w.length > 0);
    const seen = new Set<string>();
    for (let i = 0; i + 3 <= words.length && repeated === null; i++) {
      const gram = words.slice(i, i + 3);
      if (gram.some((w) => STOP.has(w) || /^\d+$/.test(w))) continue;
      const key = gram.join(' ');
      if (seen.has(key)) repeated = key;
      seen.add(key);
    }
  }
  return { tokens, odd, repeated };
}

/** Function words: a repeated 3-gram made of these is ordinary phrasing, not a key. */
const STOP = new Set(
  `a an the and or but if of to in on at by for with from as is are was were be been am i you he she it we they me my your his her its our their this that these those
  not no so do does did have has had will would can could should may might must just also very too than then there here what which who when where why how all any
  each every some more most other such only own same into over under again about after before up down out off`.split(/\s+/),
);

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

/**
 * Distinctive payload tokens of a text: e-mail addresses, links, phone and account numbers,
 * trigger-like tokens. A lesson keys on them, so a later record with the same payload (the next
 * step of a bridging sequence, a retry) is recognised whatever its wording.
 */
export function payloadTokens(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g)) out.add(m[0].toLowerCase());
  for (const m of text.matchAll(/\bhttps?:\/\/[^\s"'<>)]+|\bwww\.[^\s"'<>)]+/gi)) out.add(m[0].toLowerCase().replace(/[.,;:!?]+$/, ''));
  // Phone and account numbers: at least 7 digits, possibly grouped ("+1 555 216 1637", "DE42 5445 9824 2977").
  for (const m of text.matchAll(/(?:\+|\b[A-Z]{2})?\d[\d ()-]{5,}\d\b/g)) {
    const digits = m[0].replace(/\D/g, '');
    if (digits.length >= 7) out.add(digits);
  }
  for (const t of triggerTokens(text)) if (!t.startsWith('U+')) out.add(t.toLowerCase());
  return [...out].sort();
}

/** Phrasing that reports what someone else said (quoted or relayed content inside a message). */
export function relayedContent(text: string): boolean {
  return /["“][^"”]{20,}["”]/.test(text) || /\b(?:it\s+says|says\s*:|the\s+small\s+print|copying|forwarding|forwarded|pasting|pasted|here'?s\s+the\s+text)\b/i.test(text);
}

/** 1 − Π(1 − wᵢ): independent pieces of evidence that each could mean an attack. */
export function noisyOr(weights: readonly number[]): number {
  let keep = 1;
  for (const w of weights) keep *= 1 - Math.min(1, Math.max(0, w));
  return 1 - keep;
}
