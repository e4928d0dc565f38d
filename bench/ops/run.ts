/**
 * Drives the real embedded pipeline over the fixture: a fresh engine on a temporary data
 * directory, one arrival wave (a session) published and processed to idle at a time, as a live
 * chat would deliver it, then every memory event read back from the log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../apps/engine.js';
import type { MemoryEvent } from '../../core/model.js';
import { TOPICS } from '../../core/model.js';
import type { Config } from '../../infra/config.js';
import { llmSettings, loadConfig } from '../../infra/config.js';
import { decodeMemoryEvent } from '../../schemas/codec.js';
import { RecordSealer } from '../../streams/record-sealer.js';
import type { OpsFixture } from './fixture.js';

/** What a run produced. */
export interface OpsRun {
  /** Memory events, partition by partition, each partition in offset order (a user's events stay in order). */
  readonly events: readonly MemoryEvent[];
  readonly conversationEvents: number;
  readonly deadLettered: number;
  readonly seconds: number;
}

/** Progress callback: conversation events processed so far, of the total. */
export type OpsProgress = (done: number, total: number) => void;

/** Environment variables that configure a language model (infra/config.ts LLM_ENV_KEYS). */
export const LLM_ENV_PREFIX = 'ENGRAM_LLM_';

/** The environment without its language-model settings: the offline column. */
export function offlineEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith(LLM_ENV_PREFIX)));
}

/** A short description of the configured language model ("model at base URL"), or null when none is. */
export function describeLlm(config: Config): string | null {
  const llm = llmSettings(config);
  return llm === null ? null : `${llm.model} at ${llm.baseUrl}`;
}

/** Config for a bench run: the environment's settings on the embedded profile over `dataDir`. */
export function benchConfig(env: Readonly<Record<string, string | undefined>>, dataDir: string): Config {
  return loadConfig(env, { dataDir, profile: 'embedded' });
}

/** Reads every memory event of the log (opening sealed records with the users' keys). */
async function readMemoryEvents(engine: Engine): Promise<MemoryEvent[]> {
  const { log, keys } = engine.ports;
  const opener = new RecordSealer(keys);
  const out: MemoryEvent[] = [];
  const partitions = await log.partitions(TOPICS.memory);
  for (let p = 0; p < partitions; p++) {
    for (let from = 0; ; ) {
      const batch = await log.read(TOPICS.memory, p, from, 1000);
      if (batch.length === 0) break;
      for (const r of batch) {
        const opened = await opener.open(r);
        // Erased records (a destroyed key) hold nothing to score; the fixture erases nothing.
        if (!opened.erased) out.push(decodeMemoryEvent(opened.bytes));
      }
      from = (batch[batch.length - 1] as (typeof batch)[number]).offset + 1;
    }
  }
  return out;
}

/**
 * Runs the fixture through an engine opened with `env`'s settings on a fresh temporary data
 * directory (removed afterwards). Returns the memory events it wrote.
 */
export async function runFixture(
  fixture: OpsFixture,
  env: Readonly<Record<string, string | undefined>>,
  onProgress?: OpsProgress,
): Promise<OpsRun> {
  const dir = mkdtempSync(join(tmpdir(), 'engram-ops-'));
  const total = fixture.waves.reduce((n, w) => n + w.length, 0);
  try {
    const engine = await Engine.open(benchConfig(env, dir));
    try {
      const t0 = performance.now();
      let done = 0;
      let deadLettered = 0;
      onProgress?.(0, total);
      for (const wave of fixture.waves) {
        await engine.publish(wave);
        const stats = await engine.runUntilIdle();
        deadLettered = stats.deadLettered;
        done += wave.length;
        onProgress?.(done, total);
      }
      const seconds = (performance.now() - t0) / 1000;
      return { events: await readMemoryEvents(engine), conversationEvents: total, deadLettered, seconds };
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
