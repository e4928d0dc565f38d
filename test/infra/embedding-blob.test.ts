/**
 * The memory store's embedding blobs (infra/embedded/embedding-blob.ts): float32 when exact,
 * float64 otherwise, and the untagged float64 blobs of older data directories still read back.
 */
import test from 'ava';
import fc from 'fast-check';
import { decodeEmbeddingBlob, encodeEmbeddingBlob } from '../../infra/embedded/embedding-blob.js';

test('float32 values take four bytes each and come back exactly', (t) => {
  const embedding = [0.5, -0.25, Math.fround(0.1), 0, -0, Math.fround(3.4e38)];
  const blob = encodeEmbeddingBlob(embedding);
  t.is(blob.length, 8 + 4 * embedding.length);
  t.deepEqual(decodeEmbeddingBlob(blob), embedding);
  t.true(Object.is(decodeEmbeddingBlob(blob)[4], -0));
});

test('a value float32 cannot hold keeps the whole vector in float64', (t) => {
  const embedding = [0.5, 0.1, 0.30000000000000004, 1e-9];
  const blob = encodeEmbeddingBlob(embedding);
  t.is(blob.length, 8 + 8 * embedding.length);
  t.deepEqual(decodeEmbeddingBlob(blob), embedding);
});

test('untagged float64 blobs of the older format read back, aligned or not', (t) => {
  const embedding = [Math.fround(0.1), -2, 0, Math.fround(1e-7)];
  const legacy = Buffer.from(Float64Array.from(embedding).buffer);
  t.deepEqual(decodeEmbeddingBlob(legacy), embedding);
  // A blob that SQLite hands back inside a bigger buffer, at an odd offset.
  const shifted = Buffer.concat([Buffer.of(7), legacy]).subarray(1);
  t.deepEqual(decodeEmbeddingBlob(shifted), embedding);
  t.deepEqual(decodeEmbeddingBlob(Buffer.alloc(0)), []);
  t.deepEqual(decodeEmbeddingBlob(null), []);
});

test('a tagged blob at an unaligned offset reads back', (t) => {
  const embedding = [0.75, -1.5, 2];
  const shifted = Buffer.concat([Buffer.of(1, 2, 3), encodeEmbeddingBlob(embedding)]).subarray(3);
  t.deepEqual(decodeEmbeddingBlob(shifted), embedding);
});

test('any vector round-trips bit for bit (property)', (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.double({ noNaN: true }), fc.float({ noNaN: true })), { maxLength: 40 }), (embedding) => {
      const back = decodeEmbeddingBlob(encodeEmbeddingBlob(embedding));
      return back.length === embedding.length && back.every((v, i) => Object.is(v, embedding[i]));
    }),
    { seed: 7, numRuns: 300 },
  );
  t.pass();
});
