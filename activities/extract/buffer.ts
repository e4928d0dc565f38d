/**
 * The workflow's buffer of turns of sessions not yet summarised. Pure functions: each returns a
 * new array, in a stable order (insertion order), so the extractor's output is deterministic.
 */
import type { SourceRef } from '../../core/model.js';
import type { SessionTurn } from '../../core/pipeline.js';

/** Appends a turn; when its session holds more than `cap` turns, the oldest of that session go. */
export function addTurn(buffer: readonly SessionTurn[], turn: SessionTurn, cap: number): SessionTurn[] {
  const next = [...buffer, turn];
  const count = next.filter((t) => t.sessionId === turn.sessionId).length;
  if (count <= cap) return next;
  let drop = count - cap;
  return next.filter((t) => {
    if (drop > 0 && t.sessionId === turn.sessionId) {
      drop--;
      return false;
    }
    return true;
  });
}

/** The turns of one session, oldest first (stable for equal times). */
export function turnsOf(buffer: readonly SessionTurn[], sessionId: string): SessionTurn[] {
  return buffer
    .map((t, i) => ({ t, i }))
    .filter(({ t }) => t.sessionId === sessionId)
    .sort((a, b) => a.t.occurredAt - b.t.occurredAt || a.i - b.i)
    .map(({ t }) => t);
}

/** The buffer without one session's turns. */
export function withoutSession(buffer: readonly SessionTurn[], sessionId: string): SessionTurn[] {
  return buffer.filter((t) => t.sessionId !== sessionId);
}

/** The buffer without one message's turn. */
export function withoutMessage(buffer: readonly SessionTurn[], messageId: string): SessionTurn[] {
  return buffer.filter((t) => t.source.messageId !== messageId);
}

/** The buffered turn of a message, if any (the latest when a message was buffered twice). */
export function turnOfMessage(buffer: readonly SessionTurn[], messageId: string): SessionTurn | undefined {
  for (let i = buffer.length - 1; i >= 0; i--) {
    const t = buffer[i] as SessionTurn;
    if (t.source.messageId === messageId) return t;
  }
  return undefined;
}

/** The buffer with an edited message's text (and the edit's source) in place of the original. */
export function withEditedText(
  buffer: readonly SessionTurn[],
  messageId: string,
  text: string,
  source: SourceRef,
): SessionTurn[] {
  return buffer.map((t) => (t.source.messageId === messageId ? { ...t, text, source } : t));
}

/**
 * Sessions (other than `current`) whose last turn is more than `gapMs` before `now`, in order of
 * first appearance: they are over even though no SessionEnded arrived.
 */
export function staleSessions(
  buffer: readonly SessionTurn[],
  now: number,
  gapMs: number,
  current: string,
): string[] {
  const last = new Map<string, number>();
  for (const t of buffer) last.set(t.sessionId, Math.max(last.get(t.sessionId) ?? Number.NEGATIVE_INFINITY, t.occurredAt));
  return [...last.entries()].filter(([id, at]) => id !== current && now - at > gapMs).map(([id]) => id);
}
