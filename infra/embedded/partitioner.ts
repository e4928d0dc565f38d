/**
 * Kafka's default partitioner for keyed records, so that a key lands in the same partition in the
 * embedded log as in Kafka (Java client and kafkajs `Partitioners.DefaultPartitioner`):
 * `toPositive(murmur2(utf8(key))) % numPartitions`.
 */
import { ValidationError } from '../../core/errors.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;
const encoder = new TextEncoder();

/** Kafka's murmur2 (Utils.murmur2) over bytes; a signed 32-bit integer like Java's `int`. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24)) | 0;
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // The tail bytes, as in Kafka's fall-through switch on `length % 4`.
  const tail = length & ~3;
  const rest = length & 3;
  if (rest >= 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `toPositive`: clears the sign bit (not Math.abs, which would differ for negatives). */
export function toPositive(x: number): number {
  return x & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for this key. */
export function partitionForKey(key: string, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new ValidationError(`partition count must be a positive integer, got ${numPartitions}`);
  }
  return toPositive(murmur2(encoder.encode(key))) % numPartitions;
}
