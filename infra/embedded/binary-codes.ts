/**
 * Binary codes for a fast first pass of dense search: one sign bit per dimension (the layout of
 * sqlite-vec's `vec_quantize_binary`, bit j of byte j/8 set when x_j > 0) and the Hamming distance
 * between codes. Ranking by Hamming distance and rescoring the best few times k exactly keeps
 * about 97-99 % of the exact top k (measured on the offline encoder's vectors, docs/performance.md)
 * at a fraction of the cost of a full cosine scan.
 */

import type { HammingScan } from './hamming-simd.js';

/** 32-bit words in the code of a `dimensions`-d vector. */
export function codeWords(dimensions: number): number {
  return Math.ceil(dimensions / 32);
}

/** The sign code of a vector: bit j set when x_j > 0, little-endian within each byte and word. */
export function signCode(vector: ArrayLike<number>): Uint32Array {
  const code = new Uint32Array(codeWords(vector.length));
  for (let j = 0; j < vector.length; j++) {
    if ((vector[j] as number) > 0) code[j >>> 5] = ((code[j >>> 5] as number) | (1 << (j & 31))) >>> 0;
  }
  return code;
}

/** The code as stored: ⌈dimensions / 8⌉ bytes in `vec_quantize_binary` order (byte j/8, bit j%8). */
export function codeBytes(code: Uint32Array, dimensions: number): Buffer {
  const bytes = Buffer.alloc(Math.ceil(dimensions / 8));
  for (let i = 0; i < bytes.length; i++) bytes[i] = ((code[i >>> 2] as number) >>> ((i & 3) * 8)) & 0xff;
  return bytes;
}

/** A stored code back as words; `words` pads a short blob with zero bits. */
export function codeFromBytes(bytes: Uint8Array, words: number): Uint32Array {
  const code = new Uint32Array(words);
  for (let i = 0; i < Math.min(bytes.length, words * 4); i++) {
    code[i >>> 2] = ((code[i >>> 2] as number) | ((bytes[i] as number) << ((i & 3) * 8))) >>> 0;
  }
  return code;
}

/** Set bits of every 16-bit value: two lookups count a word, faster in V8 than SWAR arithmetic (no popcount intrinsic). */
const POPCOUNT16 = (() => {
  const t = new Uint8Array(1 << 16);
  for (let i = 1; i < t.length; i++) t[i] = (i & 1) + (t[i >>> 1] as number);
  return t;
})();

/** Hamming distance between code `slot` of `codes` (packed, `query.length` words each) and `query`: the scalar reference of the SIMD kernel (hamming-simd.ts). */
export function hamming(codes: Uint32Array, slot: number, query: Uint32Array): number {
  const words = query.length;
  const base = slot * words;
  let d = 0;
  for (let w = 0; w < words; w++) {
    const x = (codes[base + w] as number) ^ (query[w] as number);
    d += (POPCOUNT16[x & 0xffff] as number) + (POPCOUNT16[x >>> 16] as number);
  }
  return d;
}

/**
 * The `k` slots nearest by Hamming distance (`scan.distances[slot]`, of the first `count` slots)
 * among those `accept` lets through, nearest first (ties by slot). The histogram gives the
 * distance within which the k nearest codes lie, and a pass keeps those within it that pass the
 * filter: the filter, dearer than the distance, is tested only near the top. When the filter
 * refused some, the distance widens by its refusal rate and another pass takes the next ring.
 */
export function nearestCodes(scan: HammingScan, count: number, k: number, accept: (slot: number) => boolean): { slot: number; distance: number }[] {
  if (k <= 0) return [];
  const { distances, histogram } = scan;
  const slots: number[] = [];
  let threshold = -1;
  let seen = 0;
  let target = k;
  for (;;) {
    const from = threshold;
    while (threshold + 1 < histogram.length && seen < target) seen += histogram[++threshold] as number;
    for (let i = 0; i < count; i++) {
      const d = distances[i] as number;
      if (d > from && d <= threshold && accept(i)) slots.push(i);
    }
    if (slots.length >= k || threshold + 1 >= histogram.length) break;
    target = Math.max(seen + 1, Math.ceil((1.25 * seen * k) / Math.max(1, slots.length)));
  }
  slots.sort((a, b) => (distances[a] as number) - (distances[b] as number) || a - b);
  return slots.slice(0, k).map((slot) => ({ slot, distance: distances[slot] as number }));
}

/**
 * An asymmetric similarity between a float query and sign codes: Σ_j q_j · (±1), the query's dot
 * product with the code's ±1 vector. Far closer to the cosine ranking than Hamming distance
 * (which also binarises the query), and cheap through a table per code byte (256 partial sums for
 * each of its 8 dimensions): 4 lookups per 32-bit word. Higher is more similar.
 */
export function asymmetricScorer(query: ArrayLike<number>, words: number): (codes: Uint32Array, slot: number) => number {
  const bytes = words * 4;
  const table = new Float64Array(bytes * 256);
  for (let b = 0; b < bytes; b++) {
    const q = (k: number): number => (8 * b + k < query.length ? (query[8 * b + k] as number) : 0);
    let base = 0;
    for (let k = 0; k < 8; k++) base -= q(k);
    const row = b * 256;
    table[row] = base;
    // Each value adds twice its lowest set bit's weight to the value without that bit.
    for (let v = 1; v < 256; v++) table[row + v] = (table[row + (v & (v - 1))] as number) + 2 * q(31 - Math.clz32(v & -v));
  }
  return (codes, slot) => {
    let s = 0;
    const base = slot * words;
    for (let w = 0; w < words; w++) {
      const x = codes[base + w] as number;
      const row = w * 1024;
      s +=
        (table[row + (x & 0xff)] as number) +
        (table[row + 256 + ((x >>> 8) & 0xff)] as number) +
        (table[row + 512 + ((x >>> 16) & 0xff)] as number) +
        (table[row + 768 + (x >>> 24)] as number);
    }
    return s;
  };
}
