/** The sentence encoder: one vector (512 numbers) per text. */
export interface SentenceEncoder {
  embed(input: string[]): Promise<number[][]>;
}

/** Loads the Universal Sentence Encoder lite (see use-lite-encoder.mjs), its graph run synchronously when it checks out. */
export function loadEncoder(): Promise<SentenceEncoder>;

/** The library's encoder as it comes (its graph run with `executeAsync`). */
export function loadEncoderModel(): Promise<SentenceEncoder>;

/** The encoder with its graph run synchronously, or null when the graph is not the one expected. */
export function syncEncoder(model: SentenceEncoder): Promise<SentenceEncoder | null>;
