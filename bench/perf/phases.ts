/**
 * The phases of the performance benchmark, each over a real embedded engine in a temporary data
 * directory: ingest (publish → searchable, and the embedder alone on the same texts), fill (memory
 * events written straight into the log, then projected), search latency, and rebuild (replay).
 */
import { join } from 'node:path';
import { Engine } from '../../apps/engine.js';
import { progressBar } from '../../apps/cli/progress.js';
import { sealerOf } from '../../apps/composition.js';
import type { ConversationEvent } from '../../core/model.js';
import { TOPICS } from '../../core/model.js';
import { seededRng } from '../../core/random.js';
import { scopeOf, type Scope } from '../../core/scope.js';
import type { Config } from '../../infra/config.js';
import { CachedEmbedder } from '../../infra/embedder/cached-embedder.js';
import { UseLiteEmbedder } from '../../infra/embedder/use-lite.js';
import { openDatabase } from '../../infra/sqlite/open.js';
import { fillScope, type EmbeddingPool } from './fill.js';
import { percentiles, type Percentiles } from './stats.js';
import { conversations } from './texts.js';

/** The offline model, remembering what it was asked to embed (the cache's misses), call by call. */
export class RecordingModel extends UseLiteEmbedder {
  recording = false;
  readonly batches: string[][] = [];
  /**
   * Wall seconds during which the model had work while recording. The model runs in its worker
   * thread and two workflows may wait on it at once, so this is the union of the calls' spans,
   * not their sum (and no CPU figure: the main thread keeps working meanwhile).
   */
  seconds = 0;
  private active = 0;
  private busySince = 0;

  override async embed(texts: readonly string[]): Promise<number[][]> {
    if (!this.recording || texts.length === 0) return super.embed(texts);
    this.batches.push([...texts]);
    if (this.active++ === 0) this.busySince = performance.now();
    try {
      return await super.embed(texts);
    } finally {
      if (--this.active === 0) this.seconds += (performance.now() - this.busySince) / 1000;
    }
  }

  /** Texts recorded so far. */
  get texts(): number {
    return this.batches.reduce((n, b) => n + b.length, 0);
  }
}

export interface IngestResult {
  readonly events: number;
  readonly memoryEvents: number;
  readonly seconds: number;
  readonly embeddedTexts: number;
  readonly embedSeconds: number;
  /** Wall seconds of ingest spent inside the model. */
  readonly modelSecondsInIngest: number;
}

/** Publishes the conversations and runs the pipeline until idle; then the embedder alone on the texts it embedded. */
export async function ingestPhase(
  config: Config,
  model: RecordingModel,
  events: readonly ConversationEvent[],
  onEmbedOnly: () => void,
): Promise<IngestResult> {
  const engine = await Engine.open(config, { embedder: model });
  let stats;
  let seconds;
  try {
    // Steady state, as for the model: the extractor's NLP lexicon loads and its code warms up on
    // another user's conversation first (extraction is pure: nothing is written).
    const warm = conversations({ tenantId: 'warmup', users: 1, messages: 40, seed: 99 });
    await engine.activities.extract({
      tenantId: 'warmup',
      userId: 'user0',
      events: warm.map((event, offset) => ({ event, position: { topic: TOPICS.conversation, partition: 0, offset } })),
      sessionTurns: [],
    });
    const bar = progressBar('ingest');
    model.recording = true;
    const t0 = performance.now();
    await engine.publish(events);
    stats = await engine.runUntilIdle((p) => bar.update(p.processed, p.published));
    seconds = (performance.now() - t0) / 1000;
    model.recording = false;
    bar.stop();
    // Publish → searchable: the last user's memories answer a search.
    const last = events[events.length - 1];
    if (last && (await engine.search(scopeOf(last.tenantId, last.userId), 'what do you know', { k: 3, recordAccess: false })).length === 0) {
      throw new Error('ingest left nothing searchable');
    }
  } finally {
    await engine.close();
  }

  // The embedder alone: the same model behind a fresh cache (as `ports.embedder` is), the same
  // calls with the same texts, so every one is a miss again and the model does the same work.
  onEmbedOnly();
  const cachePath = join(config.dataDir, 'embed-only.db');
  const cacheDb = openDatabase(cachePath);
  const alone = new CachedEmbedder(model, cacheDb, cachePath);
  // Closing the engine stopped the model's worker: it starts (and loads) again untimed, as the
  // pipeline's had before ingest began.
  await model.embed(['Warm up the sentence encoder.', 'A second sentence, so a batch runs.']);
  const bar = progressBar('embedder alone');
  const total = model.texts;
  let done = 0;
  const t0 = performance.now();
  for (const batch of model.batches) {
    await alone.embed(batch);
    done += batch.length;
    bar.update(done, total);
  }
  const embedSeconds = (performance.now() - t0) / 1000;
  bar.stop();
  cacheDb.close();
  return { events: events.length, memoryEvents: stats.memoryEvents, seconds, embeddedTexts: total, embedSeconds, modelSecondsInIngest: model.seconds };
}

/** Embeds the pool's texts with the engine's embedder, in chunks, with a progress bar. */
export async function embedPool(engine: Engine, texts: readonly string[]): Promise<EmbeddingPool> {
  const bar = progressBar('embedding pool');
  const vectors: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += 256) {
    for (const v of await engine.ports.embedder.embed(texts.slice(i, i + 256))) vectors.push(Float32Array.from(v));
    bar.update(vectors.length, texts.length);
  }
  bar.stop();
  return { texts, vectors, modelId: engine.ports.embedder.modelId };
}

/** Writes memories for scopes (`[scope, from, count]`) and lets the projectors catch up; returns events and seconds of projection. */
export async function fillPhase(
  engine: Engine,
  config: Config,
  pool: EmbeddingPool,
  plan: readonly (readonly [Scope, number, number])[],
  label: string,
): Promise<{ events: number; projectSeconds: number }> {
  const sealer = sealerOf(config, engine.ports.keys);
  const total = plan.reduce((n, [, , c]) => n + c, 0);
  const bar = progressBar(`writing ${label}`);
  let written = 0;
  let events = 0;
  for (const [scope, from, count] of plan) {
    const before = written;
    events += await fillScope(engine.ports.log, sealer, scope, pool, { from, count, linkShare: 0.5, spread: 0.35 }, (n) => {
      written = before + n;
      bar.update(written, total);
    });
  }
  bar.stop();
  const project = progressBar(`projecting ${label}`);
  const lag = await engine.projectors.lag();
  let applied = 0;
  const t0 = performance.now();
  for (;;) {
    const n = await engine.projectors.catchUp();
    if (n === 0) break;
    applied += n;
    project.update(applied, lag);
  }
  const projectSeconds = (performance.now() - t0) / 1000;
  project.stop();
  return { events, projectSeconds };
}

/** Latency of `engine.search` (query embedding included) over the questions, round-robin over scopes. */
export async function searchPhase(
  engine: Engine,
  scopes: readonly Scope[],
  questions: readonly string[],
  label: string,
  seed: number,
  warmup: readonly string[],
): Promise<Percentiles> {
  const rng = seededRng(seed);
  const scopeAt = (): Scope => scopes[Math.floor(rng.next() * scopes.length)] as Scope;
  // Warm-up: the model loaded, statements prepared, caches filled, JIT settled; these are not measured.
  for (const q of warmup) await engine.search(scopeAt(), q, { k: 10, recordAccess: false });
  const bar = progressBar(`search ${label}`);
  const ms: number[] = [];
  let empty = 0;
  for (const q of questions) {
    const scope = scopeAt();
    const t0 = performance.now();
    const hits = await engine.search(scope, q, { k: 10, recordAccess: false });
    ms.push(performance.now() - t0);
    if (hits.length === 0) empty++;
    bar.update(ms.length, questions.length);
  }
  bar.stop();
  if (empty > questions.length / 2) throw new Error(`search ${label}: ${empty} of ${questions.length} queries found nothing`);
  return percentiles(ms);
}

/** Replays every projection from the log; returns memory events, seconds and model calls. */
export async function rebuildPhase(engine: Engine): Promise<{ events: number; seconds: number; modelCalls: number }> {
  const bar = progressBar('rebuild');
  const t0 = performance.now();
  const r = await engine.replay((done, total) => bar.update(done, total));
  const seconds = (performance.now() - t0) / 1000;
  bar.stop();
  return { events: r.events, seconds, modelCalls: r.modelCalls };
}
