/**
 * One phase of the performance benchmark in a process of its own, as the product runs it: a
 * server opened on a data directory answers the searches, `engram replay` rebuilds in a fresh
 * process, ingest runs in a pipeline process. Each phase's peak RSS is then that process's (and
 * its children's), not whatever an earlier phase left in a shared heap. `bench/perf.ts` forks this
 * file once per phase with a job, and gets back the figures, the peak RSS and the CPU seconds.
 */
import { resourceUsage } from 'node:process';
import { Engine } from '../../apps/engine.js';
import type { Scope } from '../../core/scope.js';
import { loadConfig } from '../../infra/config.js';
import { denseRecall } from './dense-recall.js';
import { embedPool, fillPhase, ingestPhase, rebuildPhase, RecordingModel, searchPhase } from './phases.js';
import { RssSampler } from './rss.js';
import { conversations, memoryTexts } from './texts.js';

/** What a phase process is asked to do (all of it JSON, sent over IPC). */
export type PhaseJob =
  | { readonly phase: 'ingest'; readonly dataDir: string; readonly users: number; readonly messages: number }
  | { readonly phase: 'pool'; readonly dataDir: string; readonly pool: number; readonly name: string }
  | {
      readonly phase: 'fill';
      readonly dataDir: string;
      readonly pool: number;
      readonly name: string;
      readonly label: string;
      readonly plan: readonly (readonly [Scope, number, number])[];
    }
  | {
      readonly phase: 'search';
      readonly dataDir: string;
      readonly label: string;
      readonly scopes: readonly Scope[];
      readonly questions: readonly string[];
      /** Asked first, unmeasured: the model loads, statements are prepared, the JIT settles. */
      readonly warmup: readonly string[];
      readonly seed: number;
      /** Also measure the dense first pass's recall on the first questions, in this scope. */
      readonly denseRecallScope?: Scope;
    }
  | { readonly phase: 'rebuild'; readonly dataDir: string; readonly label: string; readonly expect: { readonly scope: Scope; readonly memories: number } };

/** What a phase process answers: its figures, and its RSS peak (MB) and CPU seconds per sub-phase. */
export interface PhaseReply {
  readonly result?: unknown;
  readonly error?: string;
  readonly rss: Record<string, number>;
  readonly cpu: Record<string, number>;
  /** The process's peak over its whole life. */
  readonly peakMb: number;
}

/** Runs a job; the sampler's sub-phases name the table's RSS rows. */
async function run(job: PhaseJob, rss: RssSampler): Promise<unknown> {
  const config = loadConfig(process.env, { dataDir: job.dataDir, profile: 'embedded' });
  if (job.phase === 'ingest') {
    const model = new RecordingModel();
    rss.begin('model load');
    await model.embed(['Warm up the sentence encoder.', 'A second sentence, so a batch runs.']);
    rss.begin('ingest');
    const events = conversations({ users: job.users, messages: job.messages, seed: 7 });
    return ingestPhase(config, model, events, () => rss.begin('embedder alone'));
  }
  const engine = await Engine.open(config);
  try {
    switch (job.phase) {
      case 'pool':
        rss.begin('embedding pool');
        await embedPool(engine, memoryTexts(job.pool, 3, job.name));
        return null;
      case 'fill': {
        // The pool's vectors come from the embedding cache the pool phase filled: no model runs.
        const pool = await embedPool(engine, memoryTexts(job.pool, 3, job.name));
        rss.begin(`fill ${job.label}`);
        return await fillPhase(engine, config, pool, job.plan, job.label);
      }
      case 'search': {
        rss.begin(`search ${job.label}`);
        const ms = await searchPhase(engine, job.scopes, job.questions, job.label, job.seed, job.warmup);
        const recall = job.denseRecallScope ? await denseRecall(engine, job.denseRecallScope, job.questions.slice(0, 50)) : undefined;
        return { ms, denseRecall: recall };
      }
      case 'rebuild': {
        rss.begin(`rebuild ${job.label}`);
        const r = await rebuildPhase(engine);
        // The rebuilt index answers like the live one did.
        if ((await engine.ports.vectors.count(job.expect.scope)) !== job.expect.memories) throw new Error('rebuild lost memories');
        return r;
      }
    }
  } finally {
    await engine.close();
  }
}

process.once('message', (job: PhaseJob) => {
  // Every 100 ms: a sample reads /proc for every process (about 0.5 ms of this thread), which
  // every 20 ms added to a fair share of the measured searches; the process's own peak between
  // samples is in maxRSS anyway, and the children's memory grows smoothly.
  const rss = new RssSampler(100);
  const reply = (r: Pick<PhaseReply, 'result' | 'error'>): void => {
    rss.end();
    // maxRSS (KB) is this process's peak between samples too (children are in the samples).
    const peakMb = Math.max(rss.max(), Math.round(resourceUsage().maxRSS / 1024));
    // Exits once the answer is out: nothing the phase left behind may keep the process alive.
    (process.send as (m: PhaseReply, cb: () => void) => boolean)({ ...r, rss: rss.result(), cpu: rss.cpuSeconds(), peakMb }, () => process.exit(0));
  };
  run(job, rss).then(
    (result) => reply({ result }),
    (err: unknown) => reply({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
