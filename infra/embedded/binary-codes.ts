/**
 * Binary codes for a fast first pass of dense search: one sign bit per dimension (the layout of
 * sqlite-vec's `vec_quantize_binary`, bit j of byte j/8 set when x_j > 0) and the Hamming distance
 * between codes. The nearest codes by Hamming distance are re-ranked by 8-bit vectors
 * (int8-simd.ts) and the best few rescored exactly: about 96 % of the exact top 40 of a 100k
 * history (the offline encoder's vectors, docs/performance.md) at a fraction of a full scan's cost.
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
