/**
 * A-MemGuard at write time: before a memory becomes active, score how likely it is a poisoning
 * attempt from independent signals (noisy-OR): content addressed to the agent (instruction
 * injection), records keyed on a trigger phrase (AgentPoison), bridging notes that redirect the
 * user's things (MINJA), an untrusted source role, a claim that breaks the consensus of related
 * memories (stated or implied, "since you live in …"), and matches against lessons from earlier
 * detections (their trigger, target claim, payload, or the very messages they came from). A
 * candidate at or above the threshold is quarantined with its reasons, the invalidations it
 * caused are dropped (the facts it would have displaced stay active), the other units of the same
 * message are held back with it, and the failure is distilled into a lesson that later
 * candidates, in this batch and after, are checked against.
 *
 * A user's own first-person statements are trusted most: a user saying once "I moved to Berlin"
 * against three memories of Paris is a legitimate change (conflict resolution closes the old
 * fact); the same claim from an assistant, a tool or another chat participant, from a single
 * message, is a consensus break (a weaker reversal when the user said Paris only once) unless
 * it follows a newer statement of the user's own. Claims are checked against everything the
 * batch's related sets hold, and the user's own turns among them are re-read for what they state.
 */
import { ValidationError } from '../../core/errors.js';
import { derivedEventIdOf } from '../../core/ids.js';
import type { Lesson, MessageRole, Triple } from '../../core/model.js';
import type { AssociatedCandidate, PlannedChange } from '../../core/pipeline.js';
import type { MemoryState } from '../../core/ports.js';
import { isFunctionalPredicate } from '../../core/predicates.js';
import { normaliseText } from '../../core/text.js';
import { claimOf, compatibleObjects, containsPhrase, objectTokens, quoteOf, round4 } from '../consolidate/claims.js';
import { extractFacts } from '../extract/facts.js';
import { bridgingFinding, instructionFinding, isDistinctive, keyedFinding, noisyOr, payloadTokens, relayedContent, triggerUse, type Finding } from './signals.js';

export type GuardPattern = 'instruction-injection' | 'consensus-break' | 'trigger-token' | 'bridging';

export interface GuardOptions {
  /** Score at or above which a candidate is quarantined. */
  threshold: number;
  /** Distinct source messages that must agree on a value for a contradiction to break a consensus. */
  consensusMin: number;
}

export const DEFAULT_GUARD_OPTIONS: Readonly<GuardOptions> = Object.freeze({ threshold: 0.5, consensusMin: 2 });

export interface GuardContext {
  /** Per candidate id: related active memories (neighbours, same entities, same subject and predicate). */
  related: Record<string, MemoryState[]>;
  lessons: Lesson[];
  /** Per candidate id: the language model's consensus vote, when one was asked (activities/llm/guard-vote.ts). */
  votes?: Record<string, ModelVote>;
}

/** A consensus vote by the language model, as a guard signal. */
export interface ModelVote {
  readonly weight: number;
  readonly reason: string;
}

/** The guard's verdict on one ADD or UPDATE. */
export interface GuardVerdict {
  readonly candidateId: string;
  /** The memory the change writes (the target of an UPDATE). */
  readonly memoryId: string;
  readonly op: 'ADD' | 'UPDATE';
  readonly verdict: 'accept' | 'quarantine';
  readonly score: number;
  readonly reasons: readonly string[];
  /** The dominant attack pattern, when any signal besides the source role fired. */
  readonly pattern: string | null;
}

/** A candidate's suspicion score with its reasons. */
export interface Assessment {
  readonly score: number;
  readonly reasons: readonly string[];
  readonly pattern: string | null;
  /** What a lesson about this candidate would key on. */
  readonly trigger: string;
}

/** How far the guard distrusts what a message role claims about the user (the user's own: 0). */
const ROLE_WEIGHT: Readonly<Record<MessageRole, number>> = { user: 0, assistant: 0.2, system: 0.2, tool: 0.25 };
/** A lone identifier-like token (booking reference, tracking number) is weak evidence. */
const LONE_TOKEN_WEIGHT = 0.15;
/** Symbol-wrapped tokens and invisible characters are rare in ordinary text. */
const ODD_TOKEN_WEIGHT = 0.35;
/** A token or phrase the record repeats or keys a rule on. */
const KEYED_TOKEN_WEIGHT = 0.45;
/** Agent-directed content the user relays from elsewhere (a pasted e-mail, a flyer). */
const RELAYED_WEIGHT = 0.15;
const LESSON_TRIGGER_WEIGHT = 0.45;
const LESSON_CLAIM_WEIGHT = 0.35;
const LESSON_PAYLOAD_WEIGHT = 0.5;
/** A user-role message from someone other than the memory's owner (a group chat member). */
const THIRD_PARTY_WEIGHT = 0.2;
/** A non-user claim reversing a value its subject stated once (several messages make it a consensus). */
const SINGLE_REVERSAL_WEIGHT = 0.42;
/** A candidate citing a message an earlier lesson came from (a summary of a poisoned turn). */
const LESSON_SOURCE_WEIGHT = 0.55;

interface Signal {
  readonly pattern: GuardPattern | 'source-role' | 'lesson';
  readonly weight: number;
  readonly reason: string;
  readonly trigger: string;
  /** For a lesson match: the lesson's pattern, so a repeat is recorded under the same pattern. */
  readonly lessonPattern?: string;
  /** The trigger is a planted token or phrase (what a lesson about a keyed record should key on). */
  readonly key?: boolean;
}

/** Checks every ADD/UPDATE; quarantines suspicious ones (and the rest of their message) and emits a lesson for each. */
export function guard(
  changes: readonly PlannedChange[],
  context: GuardContext,
  opts: Partial<GuardOptions> = {},
): { changes: PlannedChange[]; verdicts: GuardVerdict[] } {
  const o = optionsOf(opts);
  const lessons = [...context.lessons];

  // First pass, in order: each quarantine teaches a lesson the later candidates are checked against.
  const assessed = new Map<number, { a: Assessment; quarantine: boolean; lesson: Lesson | null }>();
  // Related sets may hold earlier candidates of this batch: the ones held back (and the rest of
  // their messages) are no evidence, neither for a consensus nor as familiar names.
  const heldIds = new Set<string>();
  const heldSources = new Set<string>();
  // The units of one message share what is related to any of them: the episode's neighbours are
  // often the turns that establish what the message's fact contradicts.
  const byMessage = new Map<string, MemoryState[]>();
  for (const ch of changes) {
    if ((ch.op !== 'ADD' && ch.op !== 'UPDATE') || ch.candidate.granularity === 'session') continue;
    const key = ch.candidate.sourceEventId;
    byMessage.set(key, [...(byMessage.get(key) ?? []), ...(context.related[ch.candidate.id] ?? [])]);
  }
  // Everything related to any candidate of the batch: what the user's memory says, as far as this
  // batch has looked. A claim about the user is checked against all of it (the agent's turn
  // "since you live in …" is near other agent turns, not near the user's own statements).
  const batchPool: MemoryState[] = [];
  const pooled = new Set<string>();
  for (const ch of changes) {
    if (ch.op !== 'ADD' && ch.op !== 'UPDATE') continue;
    for (const s of context.related[ch.candidate.id] ?? []) {
      if (pooled.has(s.memory.id)) continue;
      pooled.add(s.memory.id);
      batchPool.push(s);
    }
  }
  changes.forEach((ch, i) => {
    if (ch.op !== 'ADD' && ch.op !== 'UPDATE') return;
    const c = ch.candidate;
    const seen = new Set<string>();
    const pool = [...(context.related[c.id] ?? []), ...(c.granularity === 'session' ? [] : (byMessage.get(c.sourceEventId) ?? []))];
    const related = pool.filter((s) => {
      if (seen.has(s.memory.id) || s.memory.id === c.id || heldIds.has(s.memory.id) || s.memory.sources.every((src) => heldSources.has(src.eventId))) return false;
      seen.add(s.memory.id);
      return true;
    });
    const a = assessCandidate(c, related, lessons, o, context.votes?.[c.id], [...related, ...batchPool.filter((s) => !heldIds.has(s.memory.id) && !s.memory.sources.every((src) => heldSources.has(src.eventId)))]);
    const quarantine = a.score >= o.threshold;
    let lesson: Lesson | null = null;
    if (quarantine) {
      lesson = lessonOf(c, a);
      lessons.push(lesson);
      heldIds.add(ch.op === 'ADD' ? c.id : ch.targetId);
      heldIds.add(c.id);
      heldSources.add(c.sourceEventId);
    }
    assessed.set(i, { a, quarantine, lesson });
  });

  // A message is one act of its author: when one of its units is held back, so are the others
  // (the episode of a turn whose fact broke a consensus says the same thing).
  const heldMessages = new Map<string, number>();
  changes.forEach((ch, i) => {
    const d = assessed.get(i);
    if ((ch.op === 'ADD' || ch.op === 'UPDATE') && d?.quarantine) {
      const key = ch.candidate.sourceEventId;
      heldMessages.set(key, Math.max(heldMessages.get(key) ?? 0, d.a.score));
    }
  });

  const verdicts: GuardVerdict[] = [];
  const decided: PlannedChange[] = [];
  /** Ids of memories held back: invalidations they caused are dropped. */
  const held = new Map<string, 'ADD' | 'UPDATE'>();
  changes.forEach((ch, i) => {
    if (ch.op !== 'ADD' && ch.op !== 'UPDATE') {
      decided.push(ch);
      return;
    }
    const c = ch.candidate;
    const memoryId = ch.op === 'ADD' ? c.id : ch.targetId;
    const d = assessed.get(i) as { a: Assessment; quarantine: boolean; lesson: Lesson | null };
    let { score, reasons, pattern } = d.a;
    let quarantine = d.quarantine;
    const sibling = heldMessages.get(c.sourceEventId);
    if (!quarantine && sibling !== undefined && c.granularity !== 'session') {
      quarantine = true;
      score = round4(Math.max(score, sibling));
      reasons = [...reasons, `another unit of the same message was quarantined (score ${sibling})`];
      pattern = pattern ?? 'same-message';
    }
    verdicts.push({ candidateId: c.id, memoryId, op: ch.op, verdict: quarantine ? 'quarantine' : 'accept', score, reasons, pattern });
    if (!quarantine) {
      decided.push(ch);
      return;
    }
    held.set(memoryId, ch.op);
    decided.push({ op: 'QUARANTINE', candidate: c, score, reasons });
    if (d.lesson) decided.push({ op: 'LESSON', lesson: d.lesson, causationId: c.sourceEventId });
  });

  const kept = decided.filter((ch) => {
    if (ch.op !== 'INVALIDATE') return true;
    if (ch.invalidatedBy !== null && held.has(ch.invalidatedBy)) return false;
    // A held-back ADD never becomes active, so closing it (historical fact, later rival) is moot.
    return held.get(ch.targetId) !== 'ADD';
  });
  return { changes: kept, verdicts };
}

/** Scores one candidate against its related memories and the known lessons. */
export function assessCandidate(
  c: AssociatedCandidate,
  related: readonly MemoryState[],
  lessons: readonly Lesson[],
  opts: Partial<GuardOptions> = {},
  vote?: ModelVote,
  evidence: readonly MemoryState[] = related,
): Assessment {
  const o = optionsOf(opts);
  const owner = ownerOf(evidence);
  // In a shared chat, another participant speaking is not the user speaking about themselves;
  // what anyone states about themselves ("I moved to Lyon", a triple of their own) stays theirs.
  const ownClaim = c.triple !== null && isFirstPersonUser(c);
  const thirdParty = !ownClaim && c.role === 'user' && owner !== null && c.speaker.trim() !== '' && !sameSubject(c.speaker, owner);
  const firstPerson = ownClaim || (isFirstPersonUser(c) && !thirdParty);
  const summary = c.granularity === 'session';
  const body = bodyOf(c);
  const signals: Signal[] = [];
  if (thirdParty) {
    signals.push({ pattern: 'source-role', weight: THIRD_PARTY_WEIGHT, reason: `posted by another participant (${c.speaker}), not the user (${owner})`, trigger: '' });
  }

  const instr = instructionFinding(body);
  if (instr) {
    signals.push(textSignal('instruction-injection', instr, 'instruction aimed at the agent'));
    // The user pasting agent-directed text from elsewhere vouches for none of it.
    if (c.role === 'user' && relayedContent(body)) {
      signals.push({ pattern: 'instruction-injection', weight: RELAYED_WEIGHT, reason: 'relayed from another source (quoted or forwarded)', trigger: '' });
    }
  }
  const keyed = keyedFinding(body);
  if (keyed) signals.push(textSignal('trigger-token', keyed, 'record keyed on a trigger'));
  const bridging = bridgingFinding(body);
  // The user's own change ("my rent now goes to my new landlord") is theirs to make: half weight.
  if (bridging) signals.push(textSignal('bridging', bridging, 'bridging step', firstPerson ? 0.5 : 1));

  const use = triggerUse(body);
  if (use.tokens.length > 0) {
    const weight = use.repeated !== null || (keyed !== null && !firstPerson) ? KEYED_TOKEN_WEIGHT : use.odd ? ODD_TOKEN_WEIGHT : LONE_TOKEN_WEIGHT;
    signals.push({
      pattern: 'trigger-token',
      weight,
      reason: `rare trigger-like tokens${use.repeated !== null ? ' used as a key' : ''}: ${use.tokens.slice(0, 3).map((t) => quoteOf(t, 40)).join(', ')}`,
      trigger: use.repeated ?? (use.tokens.find((t) => !t.startsWith('U+')) ?? (use.tokens[0] as string)),
      key: true,
    });
  } else if (use.repeated !== null && keyed !== null) {
    // A rare run of ordinary words that a keyed rule repeats: the AgentPoison trigger itself.
    signals.push({ pattern: 'trigger-token', weight: KEYED_TOKEN_WEIGHT - 0.1, reason: `rule keyed on the phrase ${quoteOf(use.repeated, 40)}`, trigger: use.repeated, key: true });
  }

  // Summaries are derived by the pipeline from turns the guard already checked: no role of their own.
  const roleWeight = summary ? 0 : (ROLE_WEIGHT[c.role] ?? 0.25);
  if (roleWeight > 0) {
    signals.push({ pattern: 'source-role', weight: roleWeight, reason: `claimed by ${c.role === 'assistant' ? 'an' : 'a'} ${c.role} message, not the user`, trigger: '' });
  }

  for (const t of claimsOf(c, body)) {
    const consensus = consensusBreak(c, t, evidence, firstPerson, o.consensusMin, owner);
    if (consensus) {
      signals.push(consensus);
      break;
    }
  }

  signals.push(...lessonSignals(c, body, related, lessons, firstPerson));
  if (vote && vote.weight > 0) signals.push({ pattern: 'consensus-break', weight: vote.weight, reason: vote.reason, trigger: normaliseText(c.text) });

  const score = round4(noisyOr(signals.map((s) => s.weight)));
  const attack = signals.filter((s) => s.pattern !== 'source-role').sort((a, b) => b.weight - a.weight)[0];
  const pattern = attack ? (attack.lessonPattern ?? attack.pattern) : null;
  // A keyed record's lesson keys on the trigger itself, whatever phrasing announced the rule.
  const token = signals.find((s) => s.key === true);
  return {
    score,
    reasons: signals.map((s) => `${s.reason} (+${round4(s.weight)})`),
    pattern,
    trigger: pattern === 'trigger-token' && token ? token.trigger : attack && attack.trigger !== '' ? attack.trigger : (payloadTokens(body)[0] ?? ''),
  };
}

function textSignal(pattern: GuardPattern, f: Finding, what: string, scale = 1): Signal {
  return { pattern, weight: f.weight * scale, reason: `${what}: ${f.labels.join('; ')}`, trigger: f.trigger };
}

/**
 * The text the author wrote: an episode without its "Speaker: " label, a summary without its
 * heading and the speaker labels of its sentences (a label is not a vocative).
 */
export function bodyOf(c: Pick<AssociatedCandidate, 'text' | 'speaker' | 'granularity'>): string {
  let text = c.text;
  const speakers = c.speaker
    .split(/,\s*|\s+and\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (c.granularity === 'session') text = text.replace(/^Conversation on [^.]*?\bwith\b[^.]*\.\s*/, '');
  for (const s of speakers) {
    const label = s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    text = text.replace(new RegExp(String.raw`(^|[.!?]\s+|\n)${label}:\s+`, 'g'), '$1');
  }
  return text;
}

/**
 * Whose memories these are, as the related memories tell: the most frequent subject of their
 * facts and speaker of their turns (by distinct message), when at least two messages agree.
 */
export function ownerOf(related: readonly MemoryState[]): string | null {
  const count = new Map<string, { name: string; messages: Set<string> }>();
  const add = (name: string, s: MemoryState): void => {
    const key = normaliseText(name);
    if (key === '' || GENERIC_SPEAKERS.test(key)) return;
    const e = count.get(key) ?? { name, messages: new Set<string>() };
    for (const src of s.memory.sources) e.messages.add(src.messageId);
    count.set(key, e);
  };
  for (const s of related) {
    if (s.memory.triple) add(s.memory.triple.subject.split(' ')[0] ?? '', s);
    const label = s.memory.granularity === 'turn' ? /^(\p{Lu}[\p{L}'-]{1,30}): /u.exec(s.memory.text) : null;
    if (label) add(label[1] as string, s);
  }
  let best: { name: string; messages: Set<string> } | null = null;
  for (const key of [...count.keys()].sort()) {
    const e = count.get(key) as { name: string; messages: Set<string> };
    if (!best || e.messages.size > best.messages.size) best = e;
  }
  return best && best.messages.size >= 2 ? best.name : null;
}

/** Speaker labels that are the agent or a tool, never the owner. */
const GENERIC_SPEAKERS = /^(?:assistant|ai|bot|chatbot|agent|model|system|tool|user)$/;

/** Subject of claims a message makes about the person it is addressed to ("you live in …"). */
const ADDRESSEE = '@addressee';

/**
 * The claims a candidate makes: its own triple, and for a message from the agent or a tool the
 * claims it implies about the user it addresses ("Since you live in Lisbon now, …").
 */
function claimsOf(c: AssociatedCandidate, body: string): Triple[] {
  const out: Triple[] = c.triple ? [c.triple] : [];
  if (c.role === 'user' || c.granularity === 'session' || !/\byou(?:r|'re|'ve|\s+are)?\b/i.test(body)) return out;
  const asOwner = body
    .replace(/\byou\s+are\b/gi, 'I am')
    .replace(/\byou'?re\b/gi, "I'm")
    .replace(/\byou'?ve\b/gi, "I've")
    .replace(/\byou\s+were\b/gi, 'I was')
    .replace(/\byours\b/gi, 'mine')
    .replace(/\byour\b/gi, 'my')
    .replace(/\byourself\b/gi, 'myself')
    .replace(/\byou\b/gi, 'I')
    // "Since I live in …, here are …": the subordinate clause is the claim.
    .replace(/\b(?:since|as|now\s+that|because|given\s+that|seeing\s+that|considering)\s+(?=I\b|I'm\b|I've\b|my\b)/gi, '');
  for (const f of extractFacts(asOwner, { speaker: 'Addressee', refMs: c.validFrom })) {
    if (f.triple && f.triple.subject === 'Addressee' && isFunctionalPredicate(f.triple.predicate)) out.push({ ...f.triple, subject: ADDRESSEE });
  }
  return out;
}

/** Same subject: equal, or one names the other in full ("Dana" and "Dana Reyes"). */
function sameSubject(a: string, b: string): boolean {
  const x = normaliseText(a);
  const y = normaliseText(b);
  return x === y || (x !== '' && y !== '' && (x.startsWith(`${y} `) || y.startsWith(`${x} `)));
}

/**
 * The value an object names, without what the extractor let trail after it: a leading proper
 * name ("Leeds and could use help…" → "Leeds"), else the text up to the first clause break.
 */
function coreOf(object: string): string {
  const name = /^(?:the\s+)?(\p{Lu}[\p{L}\p{N}'-]*(?:\s+\p{Lu}[\p{L}\p{N}'-]*)*)/u.exec(object.trim());
  if (name) return name[1] as string;
  return (object.split(/,|;|\s+(?:and|but|because|so|for|near|after|before|since|which|who)\s+/)[0] ?? object).trim();
}

/** The first word of a name, normalised ("Dana Reyes" → "dana"). */
function firstWord(name: string): string {
  return normaliseText(name).split(' ')[0] ?? '';
}

/** An object without the value it explicitly denies ("Lisbon now, not Porto" → "Lisbon now", denies "Porto"). */
function assertedObject(object: string): { asserted: string; denied: string | null } {
  const m = /^(.*?)(?:,\s*|\s+)(?:not|rather than|instead of|no longer)\s+(.+)$/i.exec(object);
  return m ? { asserted: (m[1] as string).trim(), denied: (m[2] as string).trim() } : { asserted: object, denied: null };
}

interface Group {
  object: string;
  memories: Set<string>;
  messages: Set<string>;
  latest: number;
}

/**
 * A functional claim from a single message, not the user's own first-person statement, that
 * contradicts what the subject's memories say: a value at least `consensusMin` distinct messages
 * agree on (a consensus), or one the subject stated once, when nothing as recent agrees with
 * the candidate (the user's own move, restated by the agent, is no reversal). The evidence is the
 * related facts and the subject's own turns among the related memories, re-read for what they
 * state (a restatement is folded into the first memory, but each turn stays).
 */
function consensusBreak(
  c: AssociatedCandidate,
  t: Triple,
  evidence: readonly MemoryState[],
  firstPerson: boolean,
  consensusMin: number,
  owner: string | null,
): Signal | null {
  if (firstPerson || !isFunctionalPredicate(t.predicate)) return null;
  const own = new Set(c.sources.map((s) => s.messageId));
  if (own.size > 1) return null;
  const subject = t.subject === ADDRESSEE ? owner : t.subject;
  if (subject === null) return null;
  const { asserted, denied } = assertedObject(t.object);

  const support: Group = { object: coreOf(asserted), memories: new Set(), messages: new Set(), latest: -Infinity };
  const rivals = new Map<string, Group>();
  for (const s of evidence) {
    if (s.status !== 'active' || s.memory.id === c.id || s.memory.sources.some((src) => own.has(src.messageId))) continue;
    for (const stated of statementsOf(s, subject, t.predicate)) {
      // Compare the values themselves, not what the extractor let trail after them ("Rotterdam at the start of the month").
      const agrees = compatibleObjects(stated, asserted) || compatibleObjects(coreOf(stated), coreOf(asserted));
      const key = objectTokens(coreOf(stated)).join(' ');
      const g = agrees ? support : (rivals.get(key) ?? { object: coreOf(stated), memories: new Set<string>(), messages: new Set<string>(), latest: -Infinity });
      if (!agrees) rivals.set(key, g);
      g.memories.add(s.memory.id);
      for (const src of s.memory.sources) g.messages.add(src.messageId);
      g.latest = Math.max(g.latest, s.memory.validFrom);
    }
  }

  let best: Group | null = null;
  for (const key of [...rivals.keys()].sort()) {
    const g = rivals.get(key) as Group;
    if (!best || g.messages.size > best.messages.size) best = g;
  }
  if (!best) return null;
  // The consensus has moved: something at least as recent already says what the candidate says.
  if (support.messages.size > 0 && support.latest >= best.latest) return null;
  const explicit = denied !== null && compatibleObjects(coreOf(denied), best.object);
  const consensus = best.messages.size >= consensusMin;
  const who = t.subject === ADDRESSEE ? `the user (${subject})` : t.subject;
  const tail = `this single ${c.role} message says ${quoteOf(asserted)}${t.subject === ADDRESSEE ? ' (implied: addressed to the user)' : ''}${explicit ? ' and denies the established value' : ''}`;
  return {
    pattern: 'consensus-break',
    weight: Math.min(0.85, (consensus ? 0.45 + 0.1 * best.messages.size : SINGLE_REVERSAL_WEIGHT) + (explicit ? 0.1 : 0)),
    reason: consensus
      ? `breaks a consensus: ${best.memories.size} memories from ${best.messages.size} messages agree ${who} ${t.predicate} ${quoteOf(best.object)}, ${tail}`
      : `reverses what ${best.messages.size} message${best.messages.size === 1 ? '' : 's'} said: ${who} ${t.predicate} ${quoteOf(best.object)}, ${tail}`,
    trigger: normaliseText(c.text),
  };
}

/** Re-read turns, by memory id and version: extraction is the costly part of the check. */
const STATEMENT_CACHE = new Map<string, Triple[]>();
const STATEMENT_CACHE_MAX = 5000;

/**
 * What a memory states about `subject` for `predicate`: its triple, or, for a turn the subject
 * wrote ("Dana: I live in Porto"), the facts extracted from it again.
 */
function statementsOf(s: MemoryState, subject: string, predicate: string): string[] {
  const rt = s.memory.triple;
  if (rt) return rt.predicate === predicate && sameSubject(rt.subject, subject) ? [rt.object] : [];
  if (s.memory.granularity !== 'turn') return [];
  const label = /^([^:\n]{1,40}):\s/.exec(s.memory.text);
  if (!label || firstWord(label[1] as string) !== firstWord(subject)) return [];
  const key = `${s.memory.id}@${s.version}`;
  let triples = STATEMENT_CACHE.get(key);
  if (triples === undefined) {
    const speaker = (label[1] as string).trim();
    triples = extractFacts(s.memory.text.slice(label[0].length), { speaker, refMs: s.memory.validFrom }).flatMap((f) => (f.triple && !f.retraction ? [f.triple] : []));
    if (STATEMENT_CACHE.size >= STATEMENT_CACHE_MAX) STATEMENT_CACHE.clear();
    STATEMENT_CACHE.set(key, triples);
  }
  return triples.filter((tr) => tr.predicate === predicate && sameSubject(tr.subject, subject)).map((tr) => tr.object);
}

/** Capitalised names and brands of a text (not sentence openers), lower-cased. */
function namesOf(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?<=[\p{L}\p{N},;:)'"]\s+)\p{Lu}[\p{L}\p{N}-]{2,}/gu)) out.add(m[0].toLowerCase().replace(/'s$/, ''));
  return out;
}

/** Full names of a text ("Idris Haddad"): two or three capitalised words in a row, lower-cased. */
function fullNamesOf(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?<=[\p{L}\p{N},;:)'"(]\s+|^)\p{Lu}[\p{Ll}'-]+(?:\s+\p{Lu}[\p{Ll}'-]+){1,2}/gu)) out.add(m[0].toLowerCase().replace(/'s$/, ''));
  return out;
}

/**
 * Matches against stored lessons: their trigger in the text, the same target claim, the same
 * payload (link, address, number, a full name or two names no active memory mentions), or a source message
 * a lesson came from.
 */
function lessonSignals(c: AssociatedCandidate, body: string, related: readonly MemoryState[], lessons: readonly Lesson[], firstPerson: boolean): Signal[] {
  // The user's own statements are trusted more: lessons weigh half against them.
  const scale = firstPerson ? 0.5 : 1;
  const claim = normaliseText(c.triple ? claimOf(c.triple) : c.text);
  const text = normaliseText(body);
  const payload = new Set(payloadTokens(body));
  const known = new Set<string>();
  for (const s of related) for (const n of namesOf(s.memory.text)) known.add(n);
  const names = [...namesOf(body)].filter((n) => !known.has(n));
  const knownText = related.map((s) => s.memory.text.toLowerCase());
  const fullNames = [...fullNamesOf(body)].filter((n) => !knownText.some((t) => t.includes(n)));
  const ownMessages = new Set(c.sources.map((s) => s.messageId));
  const out: Signal[] = [];
  for (const l of [...lessons].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const why: string[] = [];
    const weights: number[] = [];
    const trig = normaliseText(l.trigger);
    if (trig.length >= 3 && isDistinctive(l.trigger) && containsPhrase(text, trig)) {
      why.push(`trigger ${quoteOf(l.trigger, 40)}`);
      weights.push(LESSON_TRIGGER_WEIGHT * scale);
    }
    const target = normaliseText(l.targetClaim);
    if (target !== '' && (target === claim || target === text || target === normaliseText(c.text))) {
      why.push(`claim ${quoteOf(l.targetClaim, 60)}`);
      weights.push(LESSON_CLAIM_WEIGHT * scale);
    }
    const shared = payloadTokens(l.targetClaim).filter((p) => payload.has(p));
    const lessonNames = namesOf(l.targetClaim);
    const sharedNames = names.filter((n) => lessonNames.has(n));
    const lessonText = l.targetClaim.toLowerCase();
    const sharedFull = fullNames.filter((n) => lessonText.includes(n));
    if (shared.length > 0 || sharedNames.length >= 2 || sharedFull.length > 0) {
      why.push(`payload ${quoteOf([...shared, ...sharedFull, ...sharedNames].slice(0, 3).join(', '), 60)}`);
      weights.push(LESSON_PAYLOAD_WEIGHT * scale);
    }
    if (l.sources.some((s) => ownMessages.has(s.messageId))) {
      why.push('cites a message it came from');
      weights.push(LESSON_SOURCE_WEIGHT);
    }
    if (weights.length > 0) {
      out.push({
        pattern: 'lesson',
        weight: noisyOr(weights),
        reason: `matches lesson ${l.id} (${l.pattern}): ${why.join(', ')}`,
        trigger: l.trigger,
        lessonPattern: l.pattern,
      });
    }
  }
  return out;
}

/** A lesson distilled from a quarantined candidate (deterministic id). */
function lessonOf(c: AssociatedCandidate, a: Assessment): Lesson {
  const pattern = a.pattern ?? 'untrusted-source';
  return {
    id: derivedEventIdOf('lesson', c.id, pattern),
    pattern,
    trigger: a.trigger !== '' ? a.trigger : normaliseText(c.text),
    targetClaim: c.triple ? claimOf(c.triple) : c.text,
    // The message it came from (an UPDATE also carries the sources of the memory it would change).
    sources: ownSources(c),
    createdAt: c.validFrom,
  };
}

/** The sources of the candidate's own message; all of them for a unit built from several (a summary). */
function ownSources(c: AssociatedCandidate): AssociatedCandidate['sources'][number][] {
  const own = c.sources.filter((s) => s.eventId === c.sourceEventId);
  return own.length > 0 ? own : [...c.sources];
}

const FIRST_PERSON = /\b(i|i'm|i've|i'd|i'll|me|my|mine|myself)\b/i;

/**
 * A user message speaking about themselves. With a triple, its subject must be the speaker (or a
 * first-person pronoun): "I heard Caroline moved" from Melanie is a claim about someone else.
 */
export function isFirstPersonUser(c: AssociatedCandidate): boolean {
  if (c.role !== 'user') return false;
  if (c.triple) {
    const subject = c.triple.subject.trim().toLowerCase();
    return (c.speaker.trim() !== '' && subject === c.speaker.trim().toLowerCase()) || /^(i|me|myself|user)$/.test(subject);
  }
  return FIRST_PERSON.test(c.text);
}

function optionsOf(opts: Partial<GuardOptions>): GuardOptions {
  const o = { ...DEFAULT_GUARD_OPTIONS, ...opts };
  if (!Number.isFinite(o.threshold) || o.threshold <= 0 || o.threshold > 1) {
    throw new ValidationError(`guard option threshold must be in (0, 1], got ${o.threshold}`, { threshold: o.threshold });
  }
  if (!Number.isInteger(o.consensusMin) || o.consensusMin < 1) {
    throw new ValidationError(`guard option consensusMin must be a positive integer, got ${o.consensusMin}`, {
      consensusMin: o.consensusMin,
    });
  }
  return o;
}
