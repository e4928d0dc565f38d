/**
 * Plans the changes of non-message events: edited or redacted messages retire the memories that
 * only they supported (and restore the facts those memories had displaced, since invalidation is
 * reversible), forget requests erase, and feedback invalidates or reinforces.
 *
 * Choices worth knowing:
 * - retireMessage only touches active memories whose every source is that message; a memory also
 *   supported by other messages stays active. Only facts that are still invalidated *by the retired
 *   memory* are restored, and never one that is itself sourced only from the retired message.
 * - forgetMessage erases every memory with a source from that message, even with other sources:
 *   erasure must leave no trace of the message's content.
 * - review releases (approve) or rejects a quarantined memory; anything else is left alone.
 * - feedback 'down' has no time of its own: the memory is closed at its own validFrom (it was
 *   never true). Feedback on a memory that is not active is ignored.
 * - Versions are tracked through the batch so that two changes to one memory chain correctly.
 */
import { ValidationError } from '../../core/errors.js';
import type { LifecycleCommand, PlannedChange } from '../../core/pipeline.js';
import type { MemoryState } from '../../core/ports.js';
import { DEFAULT_FORGETTING, reinforcedStrength, type ForgettingOptions } from '../forget/retention.js';

export interface LifecycleContext {
  /** messageId → memories sourced from it (any status). */
  bySourceMessage: Record<string, MemoryState[]>;
  /** memoryId → memories it invalidated. */
  invalidatedBy: Record<string, MemoryState[]>;
  /** memoryId → state (for forgetMemory and feedback). */
  memories: Record<string, MemoryState>;
  /** Every memory of the user (for forgetUser); null when no forgetUser command is planned. */
  allMemories: MemoryState[] | null;
}

export interface LifecycleOptions {
  /** Forgetting curve: a thumbs-up reinforces like a repetition. */
  forgetting: ForgettingOptions;
}

export const DEFAULT_LIFECYCLE_OPTIONS: Readonly<LifecycleOptions> = Object.freeze({ forgetting: DEFAULT_FORGETTING });

export const RESTORE_REASON = 'source of the newer fact was redacted/edited';

/** Turns lifecycle commands into INVALIDATE / RESTORE / FORGET / NOOP changes, in command order. */
export function planLifecycle(
  commands: readonly LifecycleCommand[],
  context: LifecycleContext,
  opts: Partial<LifecycleOptions> = {},
): PlannedChange[] {
  const o = { ...DEFAULT_LIFECYCLE_OPTIONS, ...opts };
  /** Status and version of memories as changed by earlier commands of the batch. */
  const status = new Map<string, MemoryState['status']>();
  const versions = new Map<string, number>();
  const strengths = new Map<string, number>();
  const statusOf = (s: MemoryState): MemoryState['status'] => status.get(s.memory.id) ?? s.status;
  const versionOf = (s: MemoryState): number => versions.get(s.memory.id) ?? s.version;
  const bump = (s: MemoryState, next: MemoryState['status']): number => {
    const v = versionOf(s);
    versions.set(s.memory.id, v + 1);
    status.set(s.memory.id, next);
    return v;
  };

  const out: PlannedChange[] = [];
  const forgetAll = (states: readonly MemoryState[], reason: string, causationId: string): void => {
    for (const s of sortById(states)) {
      if (statusOf(s) === 'forgotten') continue;
      out.push({ op: 'FORGET', targetId: s.memory.id, previousVersion: bump(s, 'forgotten'), reason, causationId });
    }
  };

  for (const cmd of commands) {
    switch (cmd.type) {
      case 'retireMessage': {
        const states = context.bySourceMessage[cmd.messageId] ?? [];
        const onlyHere = (s: MemoryState): boolean =>
          s.memory.sources.length > 0 && s.memory.sources.every((src) => src.messageId === cmd.messageId);
        const retiredIds = new Set(states.filter(onlyHere).map((s) => s.memory.id));
        for (const s of sortById(states)) {
          if (!retiredIds.has(s.memory.id) || statusOf(s) !== 'active') continue;
          out.push({
            op: 'INVALIDATE',
            targetId: s.memory.id,
            previousVersion: bump(s, 'invalidated'),
            validTo: Math.max(cmd.at, s.memory.validFrom),
            invalidatedBy: null,
            reason: `source message ${cmd.messageId} was retired: ${cmd.reason}`,
            causationId: cmd.causationId,
          });
          for (const old of sortById(context.invalidatedBy[s.memory.id] ?? [])) {
            // Only facts still closed by this memory: a later change may have closed them again.
            if (retiredIds.has(old.memory.id) || statusOf(old) !== 'invalidated') continue;
            if (old.invalidatedBy !== s.memory.id) continue;
            out.push({
              op: 'RESTORE',
              targetId: old.memory.id,
              previousVersion: bump(old, 'active'),
              reason: RESTORE_REASON,
              causationId: cmd.causationId,
            });
          }
        }
        break;
      }
      case 'forgetMemory': {
        const s = context.memories[cmd.memoryId];
        if (s) forgetAll([s], cmd.reason, cmd.causationId);
        break;
      }
      case 'forgetMessage':
        forgetAll(context.bySourceMessage[cmd.messageId] ?? [], cmd.reason, cmd.causationId);
        // The message's own record in the log becomes unreadable.
        out.push({ op: 'SHRED', keyIds: [`msg:${cmd.messageId}`], wholeKeyring: false, causationId: cmd.causationId });
        break;
      case 'forgetUser':
        if (context.allMemories === null) {
          throw new ValidationError('planLifecycle: forgetUser needs allMemories in its context');
        }
        forgetAll(context.allMemories, cmd.reason, cmd.causationId);
        out.push({ op: 'SHRED', keyIds: [], wholeKeyring: true, causationId: cmd.causationId });
        break;
      case 'feedback': {
        const s = context.memories[cmd.memoryId];
        if (!s || statusOf(s) !== 'active') break;
        if (cmd.rating === 'down') {
          out.push({
            op: 'INVALIDATE',
            targetId: s.memory.id,
            previousVersion: bump(s, 'invalidated'),
            validTo: s.memory.validFrom,
            invalidatedBy: null,
            reason: 'user marked it wrong',
            causationId: cmd.causationId,
          });
        } else {
          const strength = reinforcedStrength(strengths.get(s.memory.id) ?? s.memory.strength, o.forgetting);
          strengths.set(s.memory.id, strength);
          out.push({
            op: 'NOOP',
            targetId: s.memory.id,
            strength,
            reason: 'user marked it helpful',
            comparedWith: [],
            causationId: cmd.causationId,
          });
        }
        break;
      }
      case 'review': {
        // Only a memory still held back can be released or rejected; a late or repeated verdict is a no-op.
        const s = context.memories[cmd.memoryId];
        if (!s || statusOf(s) !== 'quarantined') break;
        out.push({
          op: 'RELEASE',
          targetId: s.memory.id,
          previousVersion: bump(s, cmd.approve ? 'active' : 'rejected'),
          approved: cmd.approve,
          reason: `${cmd.approve ? 'approved' : 'rejected'} on review: ${cmd.reason}`,
          causationId: cmd.causationId,
        });
        break;
      }
      case 'rescan':
        break; // the guard stage acts on it
    }
  }
  return out;
}

function sortById(states: readonly MemoryState[]): MemoryState[] {
  return [...states].sort((a, b) => (a.memory.id < b.memory.id ? -1 : a.memory.id > b.memory.id ? 1 : 0));
}
