/**
 * The extraction stage (DESIGN.md §5 "Extraction"): conversation events in, candidate memories
 * and lifecycle commands out, pure and deterministic. A posted message yields a turn-level
 * episode and atomic facts; a finished session yields an extractive summary; edits, redactions,
 * forget requests and feedback become lifecycle commands.
 *
 * Ids: every candidate's id is memoryIdOf(scope, sourceEventId, granularity, ordinal) with the
 * episode at ordinal 0 and facts at 1..n; an edit's units use the edit's event id, so they never
 * collide with the original's; a session summary uses `session:<sessionId>`, granularity
 * 'session', ordinal 0.
 */
import { ValidationError } from '../../core/errors.js';
import { memoryIdOf } from '../../core/ids.js';
import type { MessageRole, PositionedEvent, SourceRef } from '../../core/model.js';
import type { ModelUsage, CandidateUnit, LifecycleCommand, SessionTurn } from '../../core/pipeline.js';
import { scopeOf, type Scope } from '../../core/scope.js';
import { addTurn, staleSessions, turnOfMessage, turnsOf, withEditedText, withoutMessage, withoutSession } from './buffer.js';
import { entitiesOf } from './entities.js';
import { extractFacts, lastPersonNamed } from './facts.js';
import { episodeImportance, factImportance, SUMMARY_IMPORTANCE } from './importance.js';
import { informationScore, isEmpty, isLowInformation, isPhatic } from './information.js';
import { keywordsOf, MAX_KEYWORDS } from './keywords.js';
import { summariseSession } from './summary.js';

/** Input of the extraction stage for one user's batch. */
export interface ExtractInput {
  readonly tenantId: string;
  readonly userId: string;
  readonly events: readonly PositionedEvent[];
  /** Buffered turns of sessions not yet summarised (the workflow keeps them between batches). */
  readonly sessionTurns: readonly SessionTurn[];
}

/** Output: candidates for the next stages, lifecycle commands, and the updated turn buffer. */
export interface ExtractOutput {
  readonly candidates: CandidateUnit[];
  readonly lifecycle: LifecycleCommand[];
  readonly sessionTurns: SessionTurn[];
  /** Language-model calls made for this batch (none offline). */
  readonly usage?: ModelUsage[];
}

/** Tunables of the extractor. */
export interface ExtractOptions {
  /** A buffered session whose last turn is older than this when a message arrives is summarised (default 6 h). */
  readonly sessionGapMs: number;
  /** Turns kept per buffered session; the oldest go first (default 200). */
  readonly maxTurnsPerSession: number;
  /** Sessions with fewer buffered turns than this get no summary (default 2). */
  readonly minTurnsForSummary: number;
  /** Sentences in a session summary (default 6). */
  readonly summaryMaxSentences: number;
  /** Characters of selected sentences in a session summary (default 700). */
  readonly summaryMaxChars: number;
  /** Keywords per candidate (default 8). */
  readonly maxKeywords: number;
}

/** Default extractor options. */
export const DEFAULT_EXTRACT_OPTIONS: ExtractOptions = Object.freeze({
  sessionGapMs: 6 * 60 * 60 * 1000,
  maxTurnsPerSession: 200,
  minTurnsForSummary: 2,
  summaryMaxSentences: 6,
  summaryMaxChars: 700,
  maxKeywords: MAX_KEYWORDS,
});

/** Role of a session summary: it is derived by the pipeline from several speakers' turns. */
export const SUMMARY_ROLE: MessageRole = 'system';

/** A message to turn into units: a post, or an edit read as a post of the new text. */
interface MessageUnitInput {
  readonly sourceEventId: string;
  readonly source: SourceRef;
  readonly role: MessageRole;
  readonly speaker: string;
  /** Text with attachment captions appended. */
  readonly text: string;
  /** The text the author typed (facts come from it; captions describe images, not the author). */
  readonly typed: string;
  /** World time the message's dates resolve against, and the episode's validFrom. */
  readonly refMs: number;
  /** Who "he"/"she" means, from the speaker's recent turns in the session. */
  readonly lastNamed?: string | null;
}

/**
 * A generic AI assistant ("Assistant: I can't check live weather") speaking in the first person
 * speaks about itself, not about anyone in the user's life; a named assistant-role speaker (a
 * second participant in a dialogue) is a person like any other.
 */
function isGenericAssistant(m: MessageUnitInput): boolean {
  return m.role === 'assistant' && /^(?:assistant|ai|bot|chatbot|agent|model)$/i.test(m.speaker);
}

/** Turns looked back at to resolve a pronoun: only the last few, so a stale name is not picked up. */
const PRONOUN_LOOKBACK = 3;

/** The person a "he"/"she" in `text` refers to: the last named in the speaker's recent turns of the session. */
function antecedentOf(turns: readonly SessionTurn[], speaker: string, text: string): string | null {
  if (!/\b(?:he|she)\b/i.test(text)) return null;
  for (const turn of turns.slice(-PRONOUN_LOOKBACK).reverse()) {
    if (turn.speaker !== speaker) continue;
    const named = lastPersonNamed(turn.text, speaker);
    if (named !== null) return named;
  }
  return null;
}

/** Text with attachment captions appended as "[image: …]". */
export function withCaptions(text: string, captions: readonly string[]): string {
  const parts = [text.trim(), ...captions.map((c) => c.trim()).filter((c) => c.length > 0).map((c) => `[image: ${c}]`)];
  return parts.filter((p) => p.length > 0).join(' ');
}

function sourceOf(pe: PositionedEvent, messageId: string): SourceRef {
  return {
    eventId: pe.event.eventId,
    messageId,
    conversationId: pe.event.conversationId,
    sessionId: pe.event.sessionId,
    topic: pe.position.topic,
    partition: pe.position.partition,
    offset: pe.position.offset,
  };
}

/** Episode and facts of one message; `lowInformation` tells the caller whether to buffer it. */
function messageUnits(
  scope: Scope,
  m: MessageUnitInput,
  opts: ExtractOptions,
): { units: CandidateUnit[]; lowInformation: boolean } {
  if (isEmpty(m.text)) return { units: [], lowInformation: true };
  const base = { sourceEventId: m.sourceEventId, sources: [m.source], role: m.role, speaker: m.speaker };
  const drafts = isPhatic(m.text) ? [] : extractFacts(m.typed, { speaker: m.speaker, refMs: m.refMs, lastNamed: m.lastNamed ?? null });
  // A generic assistant's "I" is the assistant itself; its claims about others are kept (the guard weighs them).
  const facts = isGenericAssistant(m) ? drafts.filter((f) => !f.own) : drafts;
  // A very short turn is low-information unless it states something recognisable ("I'm 32").
  const lowInformation = isPhatic(m.text) || (isLowInformation(m.text) && !facts.some((f) => f.triple !== null));
  const kept = lowInformation ? [] : facts;

  const units: CandidateUnit[] = [
    {
      ...base,
      id: memoryIdOf(scope, m.sourceEventId, 'turn', 0),
      kind: 'episode',
      granularity: 'turn',
      text: `${m.speaker}: ${m.text}`,
      triple: null,
      entities: lowInformation ? [] : entitiesOf(m.text, [m.speaker]),
      keywords: keywordsOf(m.text, opts.maxKeywords, [m.speaker]),
      importance: episodeImportance(informationScore(m.text), lowInformation),
      validFrom: m.refMs,
      retraction: false,
    },
  ];
  kept.forEach((f, i) => {
    units.push({
      ...base,
      id: memoryIdOf(scope, m.sourceEventId, 'fact', i + 1),
      kind: f.kind,
      granularity: 'fact',
      text: f.text,
      triple: f.triple,
      entities: entitiesOf(f.text, f.about),
      keywords: keywordsOf(f.text, opts.maxKeywords, [m.speaker]),
      importance: factImportance(f),
      validFrom: f.validFrom,
      retraction: f.retraction,
    });
  });
  return { units, lowInformation };
}

/** The summary candidate of a session's buffered turns, or null when there is nothing to summarise. */
function summaryUnit(scope: Scope, sessionId: string, turns: readonly SessionTurn[], opts: ExtractOptions): CandidateUnit | null {
  if (turns.length < opts.minTurnsForSummary) return null;
  const summary = summariseSession(turns, { maxSentences: opts.summaryMaxSentences, maxChars: opts.summaryMaxChars });
  if (!summary) return null;
  const sourceEventId = `session:${sessionId}`;
  // Provenance is what the summary says: the turns its sentences were taken from, not the whole
  // session; one source per event even if a redelivered turn sits in the buffer twice.
  const cited = summary.turns.map((i) => (turns[i] as SessionTurn).source);
  const sources = [...new Map(cited.map((s) => [s.eventId, s])).values()];
  const allText = turns.map((t) => t.text).join('\n');
  return {
    id: memoryIdOf(scope, sourceEventId, 'session', 0),
    sourceEventId,
    kind: 'summary',
    granularity: 'session',
    text: summary.text,
    triple: null,
    entities: entitiesOf(summary.sentences.join(' '), summary.speakers),
    keywords: keywordsOf(allText, opts.maxKeywords, summary.speakers),
    importance: SUMMARY_IMPORTANCE,
    validFrom: Math.min(...turns.map((t) => t.occurredAt)),
    sources,
    role: SUMMARY_ROLE,
    speaker: summary.speakers.join(', '),
    retraction: false,
  };
}

/** Extracts candidates and lifecycle commands from one user's batch of conversation events. */
export function extract(input: ExtractInput, options: Partial<ExtractOptions> = {}): ExtractOutput {
  const opts: ExtractOptions = { ...DEFAULT_EXTRACT_OPTIONS, ...options };
  const scope = scopeOf(input.tenantId, input.userId);
  let buffer: SessionTurn[] = [...input.sessionTurns];
  let candidates: CandidateUnit[] = [];
  const lifecycle: LifecycleCommand[] = [];
  /** Authors of messages posted in this batch (edits need the original speaker and role). */
  const posted = new Map<string, { speaker: string; role: MessageRole; occurredAt: number }>();

  const summarise = (sessionId: string): void => {
    const unit = summaryUnit(scope, sessionId, turnsOf(buffer, sessionId), opts);
    if (unit) candidates = [...candidates.filter((c) => c.id !== unit.id), unit];
    buffer = withoutSession(buffer, sessionId);
  };
  // Candidates of this batch from a message that is retired later in the same batch never leave it;
  // nor does a session summary already built from it (it would quote the retired words).
  const dropPendingOfMessage = (messageId: string): void => {
    candidates = candidates.filter((c) =>
      c.granularity === 'session' ? !c.sources.some((s) => s.messageId === messageId) : c.sources[0]?.messageId !== messageId,
    );
  };

  for (const pe of input.events) {
    const e = pe.event;
    if (e.tenantId !== scope.tenantId || e.userId !== scope.userId) {
      throw new ValidationError(`event ${e.eventId} belongs to another tenant or user than the batch`, {
        eventId: e.eventId,
      });
    }
    const p = e.payload;
    switch (p.type) {
      case 'MessagePosted': {
        for (const stale of staleSessions(buffer, e.occurredAt, opts.sessionGapMs, e.sessionId)) summarise(stale);
        const speaker = p.speaker.trim().length > 0 ? p.speaker.trim() : e.userId;
        const source = sourceOf(pe, p.messageId);
        const text = withCaptions(p.text, p.attachmentCaptions);
        const { units, lowInformation } = messageUnits(
          scope,
          {
            sourceEventId: e.eventId,
            source,
            role: p.role,
            speaker,
            text,
            typed: p.text,
            refMs: e.occurredAt,
            lastNamed: antecedentOf(turnsOf(buffer, e.sessionId), speaker, p.text),
          },
          opts,
        );
        candidates.push(...units);
        posted.set(p.messageId, { speaker, role: p.role, occurredAt: e.occurredAt });
        // Summaries cover the conversation between the user and the assistant: tool and system
        // output is not conversation, and is where injected instructions usually arrive.
        if (!lowInformation && (p.role === 'user' || p.role === 'assistant')) {
          buffer = addTurn(
            buffer,
            { sessionId: e.sessionId, conversationId: e.conversationId, speaker, text, occurredAt: e.occurredAt, source },
            opts.maxTurnsPerSession,
          );
        }
        break;
      }
      case 'MessageEdited': {
        lifecycle.push({ type: 'retireMessage', messageId: p.messageId, reason: 'message edited', causationId: e.eventId, at: e.occurredAt });
        dropPendingOfMessage(p.messageId);
        const inBatch = posted.get(p.messageId);
        const buffered = turnOfMessage(buffer, p.messageId);
        const speaker = inBatch?.speaker ?? buffered?.speaker ?? e.userId;
        const role: MessageRole = inBatch?.role ?? 'user';
        const refMs = inBatch?.occurredAt ?? buffered?.occurredAt ?? e.occurredAt;
        const source = sourceOf(pe, p.messageId);
        const { units, lowInformation } = messageUnits(
          scope,
          { sourceEventId: e.eventId, source, role, speaker, text: p.text, typed: p.text, refMs },
          opts,
        );
        candidates.push(...units);
        if (buffered) {
          buffer = lowInformation ? withoutMessage(buffer, p.messageId) : withEditedText(buffer, p.messageId, p.text, source);
        }
        break;
      }
      case 'MessageRedacted': {
        lifecycle.push({ type: 'retireMessage', messageId: p.messageId, reason: 'message redacted', causationId: e.eventId, at: e.occurredAt });
        dropPendingOfMessage(p.messageId);
        buffer = withoutMessage(buffer, p.messageId);
        break;
      }
      case 'SessionEnded': {
        summarise(e.sessionId);
        break;
      }
      case 'FeedbackGiven': {
        // Feedback on a message rather than a memory has nothing to act on here.
        if (p.memoryId !== null) lifecycle.push({ type: 'feedback', memoryId: p.memoryId, rating: p.rating, causationId: e.eventId });
        break;
      }
      case 'ForgetRequested': {
        const reason = p.reason ?? 'forget requested';
        if (p.scope === 'user') {
          lifecycle.push({ type: 'forgetUser', reason, causationId: e.eventId });
          candidates = [];
          buffer = [];
          posted.clear();
        } else if (p.targetId !== null && p.scope === 'memory') {
          lifecycle.push({ type: 'forgetMemory', memoryId: p.targetId, reason, causationId: e.eventId });
          candidates = candidates.filter((c) => c.id !== p.targetId);
        } else if (p.targetId !== null && p.scope === 'message') {
          lifecycle.push({ type: 'forgetMessage', messageId: p.targetId, reason, causationId: e.eventId });
          dropPendingOfMessage(p.targetId);
          buffer = withoutMessage(buffer, p.targetId);
        }
        break;
      }
      case 'QuarantineReviewed': {
        const who = p.reviewer ? ` (${p.reviewer})` : '';
        lifecycle.push({ type: 'review', memoryId: p.memoryId, approve: p.approve, reason: `${p.reason}${who}`, causationId: e.eventId });
        break;
      }
      case 'GuardRescanRequested': {
        lifecycle.push({ type: 'rescan', memoryIds: [...p.memoryIds], reason: p.reason ?? 'guard rescan', causationId: e.eventId });
        break;
      }
    }
  }
  return { candidates, lifecycle, sessionTurns: buffer };
}
