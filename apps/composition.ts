/**
 * Pieces both profiles assemble the same way from the config: the forgetting curve's options, the
 * record sealer over the users' keys, and the recorder that turns search results into
 * `MemoryAccessed` events.
 */
import { DEFAULT_FORGETTING, type ForgettingOptions } from '../activities/forget/retention.js';
import { derivedEventIdOf } from '../core/ids.js';
import { TOPICS, type MemoryEvent } from '../core/model.js';
import type { EventLog, KeyStore } from '../core/ports.js';
import type { Scope } from '../core/scope.js';
import type { Config } from '../infra/config.js';
import { RecordSealer } from '../streams/record-sealer.js';

/** The forgetting curve as configured (ENGRAM_FORGET_*). */
export function forgettingOf(config: Config): ForgettingOptions {
  return {
    ...DEFAULT_FORGETTING,
    halfLifeDays: config.forgetHalfLifeDays,
    floor: config.forgetFloor,
    reinforce: config.forgetReinforce,
  };
}

/** The guard as configured (ENGRAM_GUARD, ENGRAM_GUARD_THRESHOLD). */
export function guardOf(config: Config): { enabled: boolean; threshold: number } {
  return { enabled: config.guard === 'on', threshold: config.guardThreshold };
}

/** Seals records under the users' keys unless ENGRAM_SEAL_RECORDS=false (sealed ones still open, erasure still shreds). */
export function sealerOf(config: Config, keys: KeyStore): RecordSealer {
  return new RecordSealer(keys, { seal: config.sealRecords });
}

/** Appends a `MemoryAccessed` event for memories a search returned (they are recalled, so they fade slower). */
export function accessRecorder(log: EventLog, sealer: RecordSealer) {
  return async (scope: Scope, memoryIds: readonly string[], at: number): Promise<void> => {
    const ids = [...new Set(memoryIds)].sort();
    const event: MemoryEvent = {
      eventId: derivedEventIdOf('accessed', scope.tenantId, scope.userId, String(at), ...ids),
      tenantId: scope.tenantId,
      userId: scope.userId,
      recordedAt: at,
      causationId: `search@${at}`,
      payload: { type: 'MemoryAccessed', memoryIds: ids, accessedAt: at },
    };
    await log.append(TOPICS.memory, await sealer.memoryRecords([event]));
  };
}
