/**
 * CRC-64-AVRO, the 64-bit Rabin fingerprint of the Avro specification ("Schema Fingerprints"),
 * computed over a schema's Parsing Canonical Form. Single-object encoding puts it, little-endian,
 * after the `C3 01` magic.
 */
import type { Type } from 'avsc';

/** The empty fingerprint (the polynomial) of the Avro specification. */
const EMPTY = 0xc15d213aa4d7a795n;
const MASK64 = 0xffffffffffffffffn;

const TABLE: readonly bigint[] = (() => {
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK64);
    table.push(fp);
  }
  return table;
})();

/** The CRC-64-AVRO fingerprint of a string's UTF-8 bytes, as an unsigned 64-bit integer. */
export function rabin64(text: string): bigint {
  let fp = EMPTY;
  for (const byte of new TextEncoder().encode(text)) {
    // The table has 256 entries and the index is masked to a byte, so it is always defined.
    fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint);
  }
  return fp;
}

/** The CRC-64-AVRO fingerprint of a string as the 8 little-endian bytes that single-object encoding uses. */
export function rabinFingerprint(text: string): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, rabin64(text), true);
  return out;
}

/**
 * The Parsing Canonical Form of a parsed schema. avsc's `schema()` without options already
 * emits it (full names, no doc/aliases/defaults/logical types, spec key order); the tests check
 * that against the Avro project's own vectors.
 */
export function parsingCanonicalForm(type: Type): string {
  return JSON.stringify(type.schema());
}

/** Lower-case hex of fingerprint bytes, for messages and map keys. */
export function fingerprintHex(fp: Uint8Array): string {
  return Buffer.from(fp.buffer, fp.byteOffset, fp.byteLength).toString('hex');
}
