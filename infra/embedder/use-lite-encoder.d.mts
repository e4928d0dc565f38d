/** The sentence encoder: one vector (512 numbers) per text. */
export interface SentenceEncoder {
  embed(input: string[]): Promise<number[][]>;
}

/** Loads the Universal Sentence Encoder lite (see use-lite-encoder.mjs). */
export function loadEncoder(): Promise<SentenceEncoder>;
