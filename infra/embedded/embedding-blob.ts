/**
 * How the memory store keeps an embedding in a BLOB, exactly. Embeddings reach the store from
 * `memory-events`, whose wire format is float32, so they are kept as float32 (half the bytes of a
 * row, and rows are what the store writes most); a vector with a value float32 cannot hold exactly
 * is kept as float64. Both carry an 8-byte tag. An untagged blob is the older format: float64
 * throughout. A tag cannot be mistaken for an old blob: every old blob came from the log, so its
 * first double is a widened float32, whose low 29 mantissa bits (the first bytes) are zero, while
 * a tag starts with 'f'. Values are in the platform's byte order, as the older format was.
 */

const TAG_BYTES = 8;
const FLOAT32_TAG = Buffer.from('f32\0\0\0\0\0', 'latin1');
const FLOAT64_TAG = Buffer.from('f64\0\0\0\0\0', 'latin1');

/** The blob of an embedding: tagged float32 when every value survives it, else tagged float64. */
export function encodeEmbeddingBlob(embedding: readonly number[]): Buffer {
  const n = embedding.length;
  let exact = true;
  for (let i = 0; i < n && exact; i++) {
    const v = embedding[i] as number;
    // -0 and NaN compare badly with ===: Object.is keeps them distinct and equal to themselves.
    exact = Object.is(Math.fround(v), v);
  }
  const Values = exact ? Float32Array : Float64Array;
  const blob = Buffer.alloc(TAG_BYTES + n * Values.BYTES_PER_ELEMENT);
  (exact ? FLOAT32_TAG : FLOAT64_TAG).copy(blob, 0);
  // Buffer.alloc gives the blob an ArrayBuffer of its own (offset 0): the values after the 8-byte tag are aligned.
  const values = new Values(blob.buffer, blob.byteOffset + TAG_BYTES, n);
  for (let i = 0; i < n; i++) values[i] = embedding[i] as number;
  return blob;
}

/** The embedding a blob holds (empty for no blob). */
export function decodeEmbeddingBlob(blob: Buffer | null): number[] {
  if (blob === null) return [];
  if (blob.length >= TAG_BYTES && blob[0] === FLOAT32_TAG[0]) {
    if (blob.compare(FLOAT32_TAG, 0, TAG_BYTES, 0, TAG_BYTES) === 0) return valuesOf(blob, TAG_BYTES, 4);
    if (blob.compare(FLOAT64_TAG, 0, TAG_BYTES, 0, TAG_BYTES) === 0) return valuesOf(blob, TAG_BYTES, 8);
  }
  return valuesOf(blob, 0, 8);
}

function valuesOf(blob: Buffer, start: number, width: 4 | 8): number[] {
  const n = Math.floor((blob.byteLength - start) / width);
  // A view when the bytes are aligned for the element size, else over a copy.
  const aligned = (blob.byteOffset + start) % width === 0;
  const bytes = aligned ? blob : new Uint8Array(blob.subarray(start, start + n * width));
  const offset = aligned ? blob.byteOffset + start : 0;
  const values = width === 4 ? new Float32Array(bytes.buffer, offset, n) : new Float64Array(bytes.buffer, offset, n);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = values[i] as number;
  return out;
}
