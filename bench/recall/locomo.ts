/**
 * LoCoMo (Maharana et al., ACL 2024) read from a path given on the command line: validated, turned
 * into conversation events (one isolated user per conversation, message id = `dia_id`, one second
 * per turn after the session's date, image captions attached), and its questions of categories 1-4
 * with normalised evidence. The data is for evaluation only and never lives in the repository.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ConversationEvent } from '../../core/model.js';

const TurnSchema = z.object({
  speaker: z.string().min(1),
  dia_id: z.string().min(1),
  text: z.string(),
  blip_caption: z.string().optional(),
});

const QaSchema = z.object({
  question: z.string().min(1),
  evidence: z.array(z.string()).default([]),
  category: z.number().int(),
});

const ConversationSchema = z.object({
  sample_id: z.string().min(1),
  conversation: z.record(z.string(), z.unknown()),
  qa: z.array(QaSchema),
});

/** One turn of a conversation. */
export interface LocomoTurn {
  readonly diaId: string;
  readonly speaker: string;
  readonly text: string;
  readonly caption: string | null;
  readonly occurredAt: number;
}

/** One session: its turns in order. */
export interface LocomoSession {
  readonly index: number;
  readonly date: number;
  readonly turns: readonly LocomoTurn[];
}

/** A question scored for recall: categories 1-4 with at least one existing evidence turn. */
export interface LocomoQuestion {
  /** `locomo_<conversation>_qa<index>`, as the audit file names questions. */
  readonly id: string;
  readonly question: string;
  readonly category: 1 | 2 | 3 | 4;
  readonly evidence: readonly string[];
}

export interface LocomoConversation {
  readonly sampleId: string;
  readonly index: number;
  readonly sessions: readonly LocomoSession[];
  readonly questions: readonly LocomoQuestion[];
  /** Questions of categories 1-4 skipped because none of their evidence exists. */
  readonly skipped: number;
}

/** A file that is missing or not LoCoMo: the message says which and why. */
export class LocomoFileError extends Error {
  override readonly name = 'LocomoFileError';
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** "1:56 pm on 8 May, 2023" as UTC epoch milliseconds (LoCoMo gives no time zone). */
export function parseSessionDate(text: string): number {
  const m = /^\s*(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})\s*$/i.exec(text);
  const month = m ? MONTHS.indexOf((m[5] as string).toLowerCase()) : -1;
  if (!m || month < 0) throw new LocomoFileError(`unrecognised session date "${text}"`);
  const hour = (Number(m[1]) % 12) + ((m[3] as string).toLowerCase() === 'pm' ? 12 : 0);
  return Date.UTC(Number(m[6]), month, Number(m[4]), hour, Number(m[2]));
}

/** Evidence ids as cited, split on ";" and spaces, repaired ("D8:6" from "D8 6" or "D:8:6"), kept when the turn exists. */
export function normaliseEvidence(cited: readonly string[], turnIds: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const raw of cited) {
    for (const part of raw.split(/[;,\s]+(?=D)/)) {
      const digits = part.match(/\d+/g);
      if (!digits || digits.length < 2) continue;
      const id = `D${digits[0]}:${digits[1]}`;
      if (turnIds.has(id) && !out.includes(id)) out.push(id);
    }
  }
  return out;
}

function sessionsOf(sampleId: string, conversation: Record<string, unknown>): LocomoSession[] {
  const sessions: LocomoSession[] = [];
  const indices = Object.keys(conversation)
    .map((k) => /^session_(\d+)$/.exec(k)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  for (const index of indices) {
    const turns = z.array(TurnSchema).safeParse(conversation[`session_${index}`]);
    if (!turns.success) throw new LocomoFileError(`${sampleId} session_${index}: ${turns.error.issues[0]?.message ?? 'invalid turns'}`);
    const dateText = conversation[`session_${index}_date_time`];
    if (typeof dateText !== 'string') throw new LocomoFileError(`${sampleId} session_${index} has no date`);
    const date = parseSessionDate(dateText);
    sessions.push({
      index,
      date,
      turns: turns.data.map((t, i) => ({
        diaId: t.dia_id,
        speaker: t.speaker,
        text: t.text,
        caption: t.blip_caption && t.blip_caption.trim() !== '' ? t.blip_caption.trim() : null,
        occurredAt: date + (i + 1) * 1000,
      })),
    });
  }
  return sessions;
}

/** Reads and validates a LoCoMo file; throws LocomoFileError naming the problem. */
export function loadLocomo(path: string): LocomoConversation[] {
  if (!existsSync(path)) {
    throw new LocomoFileError(`LoCoMo file not found: ${path} (pass the path of locomo-dev.json, e.g. --locomo ../shared/data/locomo/locomo-dev.json)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new LocomoFileError(`${path} is not JSON: ${(err as Error).message}`);
  }
  const parsed = z.array(ConversationSchema).min(1).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LocomoFileError(`${path} is not a LoCoMo file: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim());
  }
  return parsed.data.map((c, index) => {
    const sessions = sessionsOf(c.sample_id, c.conversation);
    const turnIds = new Set(sessions.flatMap((s) => s.turns.map((t) => t.diaId)));
    const questions: LocomoQuestion[] = [];
    let skipped = 0;
    c.qa.forEach((q, qi) => {
      if (q.category < 1 || q.category > 4) return;
      const evidence = normaliseEvidence(q.evidence, turnIds);
      if (evidence.length === 0) {
        skipped++;
        return;
      }
      questions.push({ id: `locomo_${index}_qa${qi}`, question: q.question, category: q.category as 1 | 2 | 3 | 4, evidence });
    });
    return { sampleId: c.sample_id, index, sessions, questions, skipped };
  });
}

/** A conversation's user id: the sample id made safe for a scope. */
export function userIdOf(conversation: LocomoConversation): string {
  return conversation.sampleId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
}

/** The conversation as events, one session at a time: its turns then SessionEnded. */
export function conversationEvents(conversation: LocomoConversation, tenantId: string): ConversationEvent[][] {
  const userId = userIdOf(conversation);
  const conversationId = `${userId}-chat`;
  return conversation.sessions.map((s) => {
    const sessionId = `${userId}-s${s.index}`;
    const events: ConversationEvent[] = s.turns.map((t) => ({
      eventId: `${userId}-${t.diaId}`,
      tenantId,
      userId,
      conversationId,
      sessionId,
      occurredAt: t.occurredAt,
      payload: {
        type: 'MessagePosted',
        messageId: t.diaId,
        role: 'user',
        speaker: t.speaker,
        text: t.text,
        attachmentCaptions: t.caption === null ? [] : [t.caption],
      },
    }));
    const last = s.turns[s.turns.length - 1]?.occurredAt ?? s.date;
    events.push({ eventId: `${userId}-end-s${s.index}`, tenantId, userId, conversationId, sessionId, occurredAt: last + 1000, payload: { type: 'SessionEnded' } });
    return events;
  });
}
