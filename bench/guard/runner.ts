/**
 * Runs the poisoning suite through a real embedded engine, guard off or on: a fresh data
 * directory, the waves published and processed to idle one at a time (as sessions arrive), then
 * what the scorer needs read back: every memory of every user with its status, the top 5 for each
 * attack's trigger queries and the top 10 for each clean question.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../apps/engine.js';
import type { MemoryStatus } from '../../core/model.js';
import { scopeOf } from '../../core/scope.js';
import { loadConfig } from '../../infra/config.js';
import type { Suite } from './suite.js';

export type GuardMode = 'off' | 'on';

/** A memory as the scorer sees it. */
export interface ObservedMemory {
  readonly id: string;
  readonly status: MemoryStatus;
  readonly kind: string;
  readonly text: string;
  readonly messageIds: readonly string[];
  readonly reasons: readonly string[];
}

/** A search hit as the scorer sees it. */
export interface ObservedHit {
  readonly id: string;
  readonly text: string;
  readonly messageIds: readonly string[];
}

/** What one run left behind. */
export interface RunObservation {
  readonly mode: GuardMode;
  /** Per user id: every memory, any status. */
  readonly memories: Readonly<Record<string, readonly ObservedMemory[]>>;
  /** Per attack id: per trigger query, the top 5. */
  readonly attackHits: Readonly<Record<string, readonly (readonly ObservedHit[])[]>>;
  /** Per clean question id: the top 10. */
  readonly questionHits: Readonly<Record<string, readonly ObservedHit[]>>;
  readonly seconds: number;
}

/** Progress callback: the stage and how far it has come. */
export type RunProgress = (stage: 'ingest' | 'search', done: number, total: number) => void;

export const RETRIEVAL_K = 5;
export const RECALL_K = 10;

const hitOf = (h: { id: string; text: string; sources: readonly { messageId: string }[] }): ObservedHit => ({
  id: h.id,
  text: h.text,
  messageIds: h.sources.map((s) => s.messageId),
});

/**
 * Runs `suite` with the guard `mode` on a temporary data directory (removed afterwards). Only
 * ENGRAM_GUARD is set: no language model, so the run is offline and repeatable.
 */
export async function runSuite(suite: Suite, mode: GuardMode, onProgress?: RunProgress): Promise<RunObservation> {
  const dir = mkdtempSync(join(tmpdir(), `engram-guard-${mode}-`));
  try {
    const engine = await Engine.open(loadConfig({ ENGRAM_GUARD: mode }, { dataDir: dir, profile: 'embedded' }));
    try {
      const t0 = performance.now();
      const total = suite.waves.reduce((n, w) => n + w.length, 0);
      let done = 0;
      onProgress?.('ingest', 0, total);
      for (const wave of suite.waves) {
        // Publish in slices so the bar moves; each slice is processed before the next arrives.
        for (let i = 0; i < wave.length; i += 400) {
          const slice = wave.slice(i, i + 400);
          await engine.publish(slice);
          await engine.runUntilIdle();
          done += slice.length;
          onProgress?.('ingest', done, total);
        }
      }

      const memories: Record<string, ObservedMemory[]> = {};
      for (const userId of suite.userIds) {
        const states = await engine.memories(scopeOf(suite.tenantId, userId), true);
        memories[userId] = states.map((s) => ({
          id: s.memory.id,
          status: s.status,
          kind: s.memory.kind,
          text: s.memory.text,
          messageIds: s.memory.sources.map((src) => src.messageId),
          reasons: s.quarantineReasons,
        }));
      }

      const searches = suite.attacks.reduce((n, a) => n + a.triggers.length, 0) + suite.questions.length;
      let searched = 0;
      const attackHits: Record<string, ObservedHit[][]> = {};
      for (const a of suite.attacks) {
        const scope = scopeOf(suite.tenantId, a.userId);
        const perTrigger: ObservedHit[][] = [];
        for (const q of a.triggers) {
          perTrigger.push((await engine.search(scope, q, { k: RETRIEVAL_K, recordAccess: false })).map(hitOf));
          onProgress?.('search', ++searched, searches);
        }
        attackHits[a.id] = perTrigger;
      }
      const questionHits: Record<string, ObservedHit[]> = {};
      for (const q of suite.questions) {
        questionHits[q.id] = (await engine.search(scopeOf(suite.tenantId, q.userId), q.question, { k: RECALL_K, recordAccess: false })).map(hitOf);
        onProgress?.('search', ++searched, searches);
      }
      return { mode, memories, attackHits, questionHits, seconds: (performance.now() - t0) / 1000 };
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
