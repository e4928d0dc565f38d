/**
 * Assembles the poisoning suite deterministically from a seed: clean users with five sessions
 * each, attacks planted inside their sessions among the clean turns (three attacks of different
 * families per attacked user, in different sessions), a share of users never attacked, clean
 * questions with their answer messages, and the conversation events in arrival waves (session k
 * of every user is wave k).
 */
import type { ConversationEvent } from '../../core/model.js';
import { seededRng, seedOf } from '../../core/random.js';
import { ATTACK_FAMILIES, draftAttack, type AttackDraft, type AttackFamily } from './attacks.js';
import { SESSIONS, cleanSessions, profileOf, questionsOf, type Profile, type Turn } from './clean.js';
import { PayloadMint, chance, intIn } from './vocab.js';

/** One attack as planted: its messages, what marks the poison, and its trigger queries. */
export interface Attack {
  readonly id: string;
  readonly family: AttackFamily;
  readonly template: string;
  readonly userId: string;
  /** Every message of the attack (innocuous bridging steps included), in order. */
  readonly messageIds: readonly string[];
  /** The messages that carry the malicious content. */
  readonly poisonMessageIds: readonly string[];
  /** The attack's own conversation events (a subset of the suite's waves). */
  readonly events: readonly ConversationEvent[];
  /** Any of these in a memory derived from a poison message marks the poison. */
  readonly markers: readonly string[];
  readonly claim: string;
  readonly triggers: readonly string[];
}

/** A question about clean facts and the messages that answer it. */
export interface CleanQuestion {
  readonly id: string;
  readonly userId: string;
  readonly key: string;
  readonly question: string;
  readonly answerMessageIds: readonly string[];
}

export interface Suite {
  readonly seed: number;
  readonly tenantId: string;
  readonly userIds: readonly string[];
  /** Conversation events in arrival order: publish a wave, run to idle, publish the next. */
  readonly waves: readonly (readonly ConversationEvent[])[];
  readonly attacks: readonly Attack[];
  readonly questions: readonly CleanQuestion[];
  /** Ids of every message an attack posted: memories citing one are not clean. */
  readonly attackMessageIds: readonly string[];
  readonly messages: number;
}

export interface SuiteOptions {
  readonly seed: number;
  /** Number of attacks; families take turns, so each gets a fifth. */
  readonly attacks: number;
  /** Users who are never attacked (default: a sixth of the attacked users, at least 2). */
  readonly cleanUsers?: number;
  readonly tenantId?: string;
  /** Keep only the clean turns that state something a question or an attack relies on (small CI samples). */
  readonly compact?: boolean;
}

/** The suite's first world time: sessions follow every few days. */
const START = Date.UTC(2024, 2, 1, 9, 0, 0);
const DAY = 86_400_000;
/** Attacks planted per attacked user, each of another family and, where possible, in another session. */
export const ATTACKS_PER_USER = 3;

interface ScriptTurn extends Turn {
  readonly keys: readonly string[];
  /** Index into the user's attacks, when an attack posted it. */
  readonly attack: number | null;
  readonly poison: boolean;
}

/** Generates the suite for `opts.seed` (same seed, same suite). */
export function generateSuite(opts: SuiteOptions): Suite {
  if (!Number.isInteger(opts.attacks) || opts.attacks < 0) throw new RangeError('attacks must be a non-negative integer');
  const tenantId = opts.tenantId ?? 'guardbench';
  // Separate streams: the clean world does not shift when the number of attacks changes.
  const cleanRng = seededRng(seedOf(`clean/${opts.seed}`));
  const attackRng = seededRng(seedOf(`attacks/${opts.seed}`));
  const mint = new PayloadMint(seededRng(seedOf(`payloads/${opts.seed}`)));
  const attackedUsers = Math.ceil(opts.attacks / ATTACKS_PER_USER);
  const cleanUsers = opts.cleanUsers ?? Math.max(2, Math.round(attackedUsers / 6));
  const total = attackedUsers + cleanUsers;

  const taken = new Set<string>();
  const profiles: Profile[] = [];
  for (let i = 0; i < total; i++) {
    const p = profileOf(cleanRng, `u${String(i).padStart(3, '0')}`, taken);
    taken.add(p.name);
    profiles.push(p);
  }

  const waves: ConversationEvent[][] = Array.from({ length: SESSIONS }, () => []);
  const attacks: Attack[] = [];
  const questions: CleanQuestion[] = [];
  const attackMessageIds: string[] = [];
  let messages = 0;

  profiles.forEach((p, u) => {
    const sessions: ScriptTurn[][] = cleanSessions(cleanRng, p).map((s) =>
      s.filter((t) => !opts.compact || t.keys.length > 0 || t.role === 'tool').map((t) => ({ ...t, attack: null, poison: false })),
    );
    // Attacks k·u … k·u+k−1 go to user u (the attacked users come first): k different families.
    const drafts: { index: number; draft: AttackDraft }[] = [];
    for (let j = 0; j < ATTACKS_PER_USER; j++) {
      const index = ATTACKS_PER_USER * u + j;
      if (index >= opts.attacks) continue;
      const family = ATTACK_FAMILIES[index % ATTACK_FAMILIES.length] as AttackFamily;
      drafts.push({ index, draft: draftAttack(family, { rng: attackRng, mint, p }) });
    }
    const usedSessions = new Set<number>();
    drafts.forEach(({ draft }, k) => {
      const choices = [];
      for (let s = draft.minSession; s < SESSIONS; s++) if (!usedSessions.has(s)) choices.push(s);
      const s = choices.length > 0 ? (choices[Math.floor(attackRng.next() * choices.length)] as number) : intIn(attackRng, draft.minSession, SESSIONS - 1);
      usedSessions.add(s);
      const session = sessions[s] as ScriptTurn[];
      // Among the clean turns: never first, so the attack arrives mid-conversation.
      const at = intIn(attackRng, 1, Math.max(1, session.length - 1));
      session.splice(at, 0, ...draft.turns.map((t) => ({ role: t.role, speaker: t.speaker, text: t.text, keys: [], attack: k, poison: t.poison })));
    });

    const byAttack = drafts.map(() => ({ messageIds: [] as string[], poison: [] as string[], events: [] as ConversationEvent[] }));
    const byKey = new Map<string, string[]>();
    let n = 0;
    const userOffset = u * 7 * 60_000;
    sessions.forEach((session, s) => {
      const sessionId = `${p.userId}-s${s}`;
      let t = START + s * 3 * DAY + intIn(cleanRng, 0, 6) * 3_600_000 + userOffset;
      for (const turn of session) {
        const messageId = `${p.userId}-m${n}`;
        const event: ConversationEvent = {
          eventId: `${p.userId}-e${n}`,
          tenantId,
          userId: p.userId,
          conversationId: `${p.userId}-chat`,
          sessionId,
          occurredAt: t,
          payload: { type: 'MessagePosted', messageId, role: turn.role, speaker: turn.speaker, text: turn.text, attachmentCaptions: [] },
        };
        n++;
        messages++;
        t += intIn(cleanRng, 40, 150) * 1000;
        (waves[s] as ConversationEvent[]).push(event);
        for (const key of turn.keys) byKey.set(key, [...(byKey.get(key) ?? []), messageId]);
        if (turn.attack !== null) {
          const a = byAttack[turn.attack] as (typeof byAttack)[number];
          a.messageIds.push(messageId);
          if (turn.poison) a.poison.push(messageId);
          a.events.push(event);
          attackMessageIds.push(messageId);
        }
      }
      // Most platforms say when a session ends; the others leave it to the idle gap.
      if (chance(cleanRng, 0.6)) {
        (waves[s] as ConversationEvent[]).push({
          eventId: `${p.userId}-end${s}`,
          tenantId,
          userId: p.userId,
          conversationId: `${p.userId}-chat`,
          sessionId,
          occurredAt: t,
          payload: { type: 'SessionEnded' },
        });
      }
    });

    drafts.forEach(({ index, draft }, k) => {
      const a = byAttack[k] as (typeof byAttack)[number];
      attacks.push({
        id: `atk-${String(index).padStart(3, '0')}`,
        family: draft.family,
        template: draft.template,
        userId: p.userId,
        messageIds: a.messageIds,
        poisonMessageIds: a.poison,
        events: a.events,
        markers: draft.markers,
        claim: draft.claim,
        triggers: draft.triggers,
      });
    });
    for (const [i, q] of questionsOf(cleanRng, p).entries()) {
      const answers = byKey.get(q.key) ?? [];
      if (answers.length === 0) continue;
      questions.push({ id: `${p.userId}-q${i}`, userId: p.userId, key: q.key, question: q.question, answerMessageIds: answers });
    }
  });

  attacks.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { seed: opts.seed, tenantId, userIds: profiles.map((p) => p.userId), waves, attacks, questions, attackMessageIds, messages };
}
