import type { Embedder } from '../../core/ports.js';
import { EmbedderError } from '../../core/errors.js';
import { ModelWorker, type SentenceModel } from './model-worker.js';
import { loadEncoder, type SentenceEncoder } from './use-lite-encoder.mjs';

/** Texts per model call: large enough to amortise tfjs overhead, small enough to bound memory. */
const BATCH = 32;

/** Where the encoder runs: its own worker thread (the default), or the caller's thread. */
export type ModelThread = 'worker' | 'main';

export interface UseLiteOptions {
  readonly thread?: ModelThread;
  /** The worker's module (tests pass stand-ins that fail); the encoder's by default. */
  readonly workerScript?: URL;
}

/**
 * The Universal Sentence Encoder lite (512-d), shipped inside npm and run offline on tfjs's wasm
 * backend. By default it runs in a worker thread, so the pipeline around it (extraction,
 * clustering, projections) overlaps the model instead of waiting for it; `thread: 'main'` runs it
 * in this thread. Either way it is loaded lazily on first use, so commands that never embed never
 * pay for it, and both give the same vectors.
 */
export class UseLiteEmbedder implements Embedder {
  readonly modelId = 'use-lite-512/energetic-ai-0.2';
  readonly dimensions = 512;
  /** Model calls made (one per batch): replays must leave this at 0. */
  calls = 0;
  readonly thread: ModelThread;
  private worker: ModelWorker | null = null;
  private readonly workerScript: URL | undefined;

  constructor(opts: UseLiteOptions = {}) {
    this.thread = opts.thread ?? 'worker';
    this.workerScript = opts.workerScript;
  }

  /** True while this embedder has a worker thread (started by a call, ended by `close()`). */
  get running(): boolean {
    return this.worker?.running ?? false;
  }

  /** One Float32-rounded 512-d vector per text. */
  async embed(texts: readonly string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const model = await this.load();
    // A batch costs as much as its longest text times its size (shorter ones are padded), so texts
    // go to the model shortest first: one session summary no longer makes 31 short turns cost as
    // much as it does. A text's vector does not depend on its batch mates (beyond float rounding).
    const order = texts.map((_, i) => i).sort((a, b) => (texts[a] as string).length - (texts[b] as string).length || a - b);
    const batches: { slots: number[]; texts: string[] }[] = [];
    for (let i = 0; i < order.length; i += BATCH) {
      const slots = order.slice(i, i + BATCH);
      batches.push({ slots, texts: slots.map((j) => texts[j] as string).map((t) => (t.trim() === '' ? '.' : t)) });
    }
    // Every batch is handed over at once: the model works through them in order while this thread
    // is busy elsewhere, instead of idling until this thread asks for the next one.
    const runs = batches.map((b) => {
      this.calls++;
      return model.embed(b.texts);
    });
    const settled = await Promise.allSettled(runs);
    const out: number[][] = new Array<number[]>(texts.length);
    for (const [k, result] of settled.entries()) {
      const batch = batches[k] as { slots: number[]; texts: string[] };
      if (result.status === 'rejected') {
        const cause: unknown = result.reason;
        if (cause instanceof EmbedderError) throw cause;
        throw new EmbedderError(`embedding ${batch.texts.length} texts failed: ${(cause as Error).message}`, { cause });
      }
      const vectors = result.value;
      if (vectors.length !== batch.texts.length || vectors.some((v) => v.length !== this.dimensions)) {
        throw new EmbedderError(`the model returned ${vectors.length} vectors for ${batch.texts.length} texts`, {
          retriable: false,
        });
      }
      vectors.forEach((v, j) => {
        out[batch.slots[j] as number] = float32Row(v);
      });
    }
    return out;
  }

  /** Stops the worker thread, if any (a later call starts a new one). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.close();
  }

  private async load(): Promise<SentenceModel> {
    if (this.thread === 'main') {
      await loadShared();
      return inThread;
    }
    this.worker ??= new ModelWorker(this.workerScript);
    await this.worker.load();
    return this.worker;
  }
}

/** A vector as plain numbers, each a float32 value (the worker's already are). */
function float32Row(v: ArrayLike<number>): number[] {
  const exact = v instanceof Float32Array;
  // An indexed copy: Array.from iterates (one result object per element).
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = exact ? (v[i] as number) : Math.fround(v[i] as number);
  return out;
}

/**
 * The encoder is loaded once per process and shared: TensorFlow's backend is global, and two
 * engines initialising it at the same time race ("Backend 'wasm' has not yet been initialized").
 */
let shared: Promise<SentenceEncoder> | null = null;

function loadShared(): Promise<SentenceEncoder> {
  shared ??= (async () => {
    try {
      return await loadEncoder();
    } catch (cause) {
      shared = null; // a later call may try again
      throw new EmbedderError(`cannot load the offline sentence encoder: ${(cause as Error).message}`, { cause, retriable: false });
    }
  })();
  return shared;
}

/** Calls to the shared in-thread model, one at a time in order (as the worker serves them). */
let inThreadQueue: Promise<unknown> = Promise.resolve();
const inThread: SentenceModel = {
  embed(texts) {
    const run = inThreadQueue.then(async () => (await loadShared()).embed([...texts]));
    inThreadQueue = run.catch(() => undefined);
    return run;
  },
  async close() {
    // Shared by every in-thread embedder of the process: nothing to release per instance.
  },
};
