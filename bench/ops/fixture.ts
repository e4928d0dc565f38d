/**
 * The labelled per-operation fixture (test/fixtures/ops/*.json, described in its README): a zod
 * schema for the hand-written files, a loader that checks every cross-reference, and the
 * conversion of the labelled sessions into conversation events, grouped in arrival waves.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import type { ConversationEvent, MessageRole } from '../../core/model.js';
import { SCOPE_ID } from '../../core/scope.js';

/** Kinds a labelled fact may have (the memory kinds an extractor proposes per message). */
export const FACT_KINDS = ['fact', 'preference', 'event'] as const;
export type FactKind = (typeof FACT_KINDS)[number];

export const OPS = ['ADD', 'UPDATE', 'DELETE', 'NOOP'] as const;
export type Op = (typeof OPS)[number];

/** Free-form message tags for the per-case breakdown (derived cases are added by the loader). */
export const MESSAGE_TAGS = [
  'greeting',
  'low-information',
  'question',
  'hypothetical',
  'coreference',
  'multi-valued',
  'different-subject',
  'historical',
] as const;

const ISO_DAY = /^\d{4}(?:-\d{2}(?:-\d{2})?)?$/;
const FACT_ID = /^[a-z0-9][a-z0-9._-]{0,80}$/;

const FactSchema = z.strictObject({
  id: z.string().regex(FACT_ID, 'fact ids are lower-case letters, digits, ".", "_" and "-"'),
  subject: z.string().min(1),
  predicate: z.string().regex(/^[a-z][a-z0-9_]*$/, 'predicates are snake_case'),
  object: z.string().min(1),
  kind: z.enum(FACT_KINDS),
  op: z.enum(OPS).default('ADD'),
  /** The earlier fact an UPDATE refines, a NOOP repeats or a DELETE retracts. */
  target: z.string().regex(FACT_ID).optional(),
  /** Expected resolved date of a dated statement, as precise as the message allows. */
  date: z.string().regex(ISO_DAY, 'dates are YYYY, YYYY-MM or YYYY-MM-DD').optional(),
  /** Earlier facts this one contradicts (functional predicate or opposite preference). */
  invalidates: z.array(z.string().regex(FACT_ID)).default([]),
  note: z.string().optional(),
});

const MessageTurnSchema = z.strictObject({
  id: z.string().min(1).max(128),
  role: z.enum(['user', 'assistant']).default('user'),
  text: z.string().min(1),
  facts: z.array(FactSchema).default([]),
  tags: z.array(z.enum(MESSAGE_TAGS)).default([]),
  note: z.string().optional(),
});

const RedactTurnSchema = z.strictObject({
  /** Id of an earlier message of the same user. */
  redact: z.string().min(1),
  reason: z.string().optional(),
  /** Facts the redaction must bring back (they were invalidated by a fact of the redacted message). */
  restores: z.array(z.string().regex(FACT_ID)).default([]),
  note: z.string().optional(),
});

const SessionSchema = z.strictObject({
  id: z.string().min(1).max(128),
  start: z.iso.datetime({ offset: true }),
  turns: z.array(z.union([MessageTurnSchema, RedactTurnSchema])).min(1),
  /** Whether a SessionEnded event closes the session (default true). */
  ended: z.boolean().default(true),
});

/** One hand-written file: one user's sessions. */
export const UserFileSchema = z.strictObject({
  tenantId: z.string().regex(SCOPE_ID),
  userId: z.string().regex(SCOPE_ID),
  /** Display name of the user: first person resolves to it. */
  speaker: z.string().min(1),
  sessions: z.array(SessionSchema).min(1),
});
export type UserFile = z.infer<typeof UserFileSchema>;

/** Display name of the assistant in the fixture. */
export const ASSISTANT = 'Assistant';
/** Spacing of turns within a session. */
export const TURN_SPACING_MS = 60_000;

/** A labelled fact after loading: with its message and the cases it exercises. */
export interface ExpectedFact {
  readonly id: string;
  readonly userId: string;
  readonly messageId: string;
  readonly subject: string;
  readonly predicate: string;
  readonly object: string;
  readonly kind: FactKind;
  readonly op: Op;
  readonly target: string | null;
  readonly date: string | null;
  readonly invalidates: readonly string[];
  /** Derived and tagged cases, for the per-case breakdown. */
  readonly cases: readonly string[];
}

/** A labelled message. */
export interface LabelledMessage {
  readonly userId: string;
  readonly sessionId: string;
  readonly messageId: string;
  /** Id of the MessagePosted event (memory events name it as their cause). */
  readonly eventId: string;
  readonly role: MessageRole;
  readonly speaker: string;
  readonly text: string;
  readonly occurredAt: number;
  readonly facts: readonly ExpectedFact[];
  readonly cases: readonly string[];
}

/** A labelled redaction. */
export interface LabelledRedaction {
  readonly userId: string;
  readonly messageId: string;
  readonly eventId: string;
  readonly occurredAt: number;
  readonly restores: readonly string[];
}

/** What the scorer needs: the labelled messages and redactions. */
export interface OpsLabels {
  readonly messages: readonly LabelledMessage[];
  readonly redactions: readonly LabelledRedaction[];
}

/** The loaded fixture: labels plus the events to publish, in arrival waves (one per session). */
export interface OpsFixture extends OpsLabels {
  readonly tenantId: string;
  readonly users: readonly string[];
  readonly waves: readonly (readonly ConversationEvent[])[];
}

/** Event id of a posted message. */
export function postedEventId(messageId: string): string {
  return `e-${messageId}`;
}

/** Event id of the redaction of a message. */
export function redactionEventId(messageId: string): string {
  return `e-redact-${messageId}`;
}

/** Cases a fact exercises, derived from its label. */
function derivedCases(f: z.infer<typeof FactSchema>, speaker: string): string[] {
  const cases: string[] = [];
  const subject = f.subject.trim();
  if (/^has_/.test(f.predicate)) cases.push('relation');
  else if (subject === speaker) cases.push('first-person');
  else cases.push(subject.startsWith(`${speaker}'s `) ? 'relation' : 'third-person');
  if (f.kind === 'preference') cases.push('preference');
  if (f.date !== undefined) cases.push('dated');
  if (f.op === 'NOOP') cases.push('duplicate');
  if (f.op === 'UPDATE') cases.push('refinement');
  if (f.op === 'DELETE') cases.push('retraction');
  if (f.invalidates.length > 0) cases.push('functional-conflict');
  return cases;
}

type Session = UserFile['sessions'][number];
type Turn = Session['turns'][number];

function isRedaction(t: Turn): t is Extract<Turn, { redact: string }> {
  return 'redact' in t;
}

/** Parses and cross-checks several user files; throws ValidationError naming the first problem. */
export function buildFixture(files: readonly { name: string; data: unknown }[]): OpsFixture {
  const parsed: UserFile[] = files.map(({ name, data }) => {
    const r = UserFileSchema.safeParse(data);
    if (!r.success) {
      const problems = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new ValidationError(`ops fixture ${name}: ${problems}`, { file: name });
    }
    return r.data;
  });
  if (parsed.length === 0) throw new ValidationError('ops fixture: no user files');
  const tenantId = (parsed[0] as UserFile).tenantId;

  const messages: LabelledMessage[] = [];
  const redactions: LabelledRedaction[] = [];
  const sessions: Array<{ start: number; userId: string; events: ConversationEvent[] }> = [];
  const messageIds = new Set<string>();
  const sessionIds = new Set<string>();
  const users = new Set<string>();
  /** Fact id → user, for every fact seen so far (references may only point backwards). */
  const factUser = new Map<string, string>();
  const fail = (msg: string, details: Record<string, unknown>): never => {
    throw new ValidationError(`ops fixture: ${msg}`, details);
  };
  const checkRef = (ref: string, userId: string, what: string, from: string): void => {
    const owner = factUser.get(ref);
    if (owner === undefined) fail(`${what} ${ref} of ${from} names no earlier fact`, { ref, from });
    if (owner !== userId) fail(`${what} ${ref} of ${from} names a fact of another user`, { ref, from });
  };

  for (const file of parsed) {
    if (file.tenantId !== tenantId) fail(`every file must use tenant ${tenantId}`, { userId: file.userId });
    if (users.has(file.userId)) fail(`user ${file.userId} appears in two files`, { userId: file.userId });
    users.add(file.userId);
    const base = { tenantId, userId: file.userId, conversationId: `${file.userId}-chat` };
    const userMessages = new Set<string>();
    let previousStart = -Infinity;

    for (const session of file.sessions) {
      if (sessionIds.has(session.id)) fail(`session id ${session.id} is used twice`, { sessionId: session.id });
      sessionIds.add(session.id);
      const start = Date.parse(session.start);
      if (start <= previousStart) fail(`sessions of ${file.userId} must be in time order`, { sessionId: session.id });
      const events: ConversationEvent[] = [];
      session.turns.forEach((turn, i) => {
        const occurredAt = start + i * TURN_SPACING_MS;
        const common = { ...base, sessionId: session.id, occurredAt };
        if (isRedaction(turn)) {
          if (!userMessages.has(turn.redact)) fail(`redaction names no earlier message ${turn.redact}`, { messageId: turn.redact });
          for (const ref of turn.restores) checkRef(ref, file.userId, 'restoration', `redaction of ${turn.redact}`);
          const eventId = redactionEventId(turn.redact);
          events.push({ ...common, eventId, payload: { type: 'MessageRedacted', messageId: turn.redact, reason: turn.reason ?? null } });
          redactions.push({ userId: file.userId, messageId: turn.redact, eventId, occurredAt, restores: turn.restores });
          return;
        }
        if (messageIds.has(turn.id)) fail(`message id ${turn.id} is used twice`, { messageId: turn.id });
        messageIds.add(turn.id);
        const speaker = turn.role === 'user' ? file.speaker : ASSISTANT;
        const facts: ExpectedFact[] = [];
        for (const f of turn.facts) {
          if (factUser.has(f.id) || facts.some((g) => g.id === f.id)) fail(`fact id ${f.id} is used twice`, { factId: f.id });
          if ((f.op === 'ADD') !== (f.target === undefined)) {
            fail(`fact ${f.id}: ${f.op === 'ADD' ? 'an ADD has no target' : `${f.op} needs a target`}`, { factId: f.id });
          }
          if (f.target !== undefined) checkRef(f.target, file.userId, 'target', f.id);
          if (f.invalidates.length > 0 && f.op !== 'ADD' && f.op !== 'UPDATE') {
            fail(`fact ${f.id}: only an ADD or UPDATE invalidates`, { factId: f.id });
          }
          for (const ref of f.invalidates) checkRef(ref, file.userId, 'invalidation', f.id);
          facts.push({
            id: f.id,
            userId: file.userId,
            messageId: turn.id,
            subject: f.subject,
            predicate: f.predicate,
            object: f.object,
            kind: f.kind,
            op: f.op,
            target: f.target ?? null,
            date: f.date ?? null,
            invalidates: f.invalidates,
            cases: derivedCases(f, file.speaker),
          });
        }
        // Registered after the whole message: a label refers to facts of earlier messages only.
        for (const f of facts) factUser.set(f.id, file.userId);
        userMessages.add(turn.id);
        const eventId = postedEventId(turn.id);
        events.push({
          ...common,
          eventId,
          payload: { type: 'MessagePosted', messageId: turn.id, role: turn.role, speaker, text: turn.text, attachmentCaptions: [] },
        });
        const cases = new Set<string>(turn.tags);
        if (turn.role === 'assistant') cases.add('assistant');
        if (facts.length === 0 && turn.role === 'user') cases.add('no-fact');
        messages.push({
          userId: file.userId,
          sessionId: session.id,
          messageId: turn.id,
          eventId,
          role: turn.role,
          speaker,
          text: turn.text,
          occurredAt,
          facts,
          cases: [...cases].sort(),
        });
      });
      if (session.ended) {
        events.push({
          ...base,
          sessionId: session.id,
          occurredAt: start + session.turns.length * TURN_SPACING_MS,
          eventId: `e-end-${session.id}`,
          payload: { type: 'SessionEnded' },
        });
      }
      sessions.push({ start, userId: file.userId, events });
      previousStart = start;
    }
  }
  sessions.sort((a, b) => a.start - b.start || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  return { tenantId, users: [...users].sort(), messages, redactions, waves: sessions.map((s) => s.events) };
}

/** Reads every `*.json` user file of a fixture directory (sorted by name) and builds the fixture. */
export function loadFixture(dir: string): OpsFixture {
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return buildFixture(
    names.map((name) => {
      const text = readFileSync(join(dir, name), 'utf8');
      try {
        return { name, data: JSON.parse(text) as unknown };
      } catch (err) {
        throw new ValidationError(`ops fixture ${name}: not JSON (${(err as Error).message})`, { file: name });
      }
    }),
  );
}

/** The first `sessions` sessions of the named users: a consistent slice (labels only point backwards). */
export function sliceFixture(fixture: OpsFixture, users: readonly string[], sessions: number): OpsFixture {
  const keepUser = new Set(users);
  const kept = new Map<string, Set<string>>();
  for (const m of fixture.messages) {
    if (!keepUser.has(m.userId)) continue;
    const set = kept.get(m.userId) ?? new Set<string>();
    if (!set.has(m.sessionId) && set.size >= sessions) continue;
    set.add(m.sessionId);
    kept.set(m.userId, set);
  }
  const keepSession = new Set([...kept.values()].flatMap((s) => [...s]));
  const messages = fixture.messages.filter((m) => keepSession.has(m.sessionId));
  const keptMessages = new Set(messages.map((m) => m.messageId));
  const waves = fixture.waves
    .filter((w) => w.length > 0 && keepSession.has((w[0] as ConversationEvent).sessionId))
    .map((w) => [...w]);
  const redactions = fixture.redactions.filter(
    (r) => keptMessages.has(r.messageId) && waves.some((w) => w.some((e) => e.eventId === r.eventId)),
  );
  return { ...fixture, users: fixture.users.filter((u) => kept.has(u)), messages, redactions, waves };
}

/** Default location of the fixture. */
export const FIXTURE_DIR = new URL('../../test/fixtures/ops/', import.meta.url).pathname;

/** Location of the held-out fixture (never tuned against; see its README). */
export const HOLDOUT_FIXTURE_DIR = new URL('../../test/fixtures/ops-holdout/', import.meta.url).pathname;
