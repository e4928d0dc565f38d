import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { Granularity } from './model.js';
import type { Scope } from './scope.js';

/** Namespace for every Engram UUIDv5 (a fixed random UUID; never change it). */
export const ENGRAM_NAMESPACE = '7f1e4c1a-3b7d-5d7e-9a57-2f0c8b1d6e42';

/** Memory id: UUIDv5 of tenant, user, source event id, granularity and ordinal (DESIGN.md §4.3). */
export function memoryIdOf(
  scope: Scope,
  sourceEventId: string,
  granularity: Granularity,
  ordinal: number,
): string {
  return uuidv5(
    ['memory', scope.tenantId, scope.userId, sourceEventId, granularity, String(ordinal)].join('\u001f'),
    ENGRAM_NAMESPACE,
  );
}

/** Memory event id: derived from the memory id, its version and the event type. */
export function memoryEventIdOf(memoryId: string, version: number, type: string): string {
  return uuidv5(['memory-event', memoryId, String(version), type].join('\u001f'), ENGRAM_NAMESPACE);
}

/** Id of an event that is not about one memory version (cluster fits, lessons, reinforcements). */
export function derivedEventIdOf(...parts: readonly string[]): string {
  return uuidv5(['derived', ...parts].join('\u001f'), ENGRAM_NAMESPACE);
}

/** Hex SHA-256 of a string: text hashes for caches and duplicate detection. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
