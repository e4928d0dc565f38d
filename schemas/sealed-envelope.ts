/**
 * The sealed-record envelope (crypto-shredding, streams/record-sealer.ts): `45 4E 01` · key-id
 * length (u16 BE) · key id · IV (12) · GCM tag (16) · AES-256-GCM ciphertext of the Avro
 * single-object bytes. The additional data binds a record to `tenant/user` and its key id, so a
 * record cannot be moved to another user.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecodeError } from '../core/errors.js';
import { scopeKey, type Scope } from '../core/scope.js';

/** The first bytes of a sealed record ("EN", version 1); Avro single-object bytes start with C3 01. */
export const SEALED_MAGIC = Uint8Array.of(0x45, 0x4e, 0x01);
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** True when the bytes are a sealed record. */
export function isSealed(bytes: Uint8Array): boolean {
  return bytes.length >= SEALED_MAGIC.length && SEALED_MAGIC.every((b, i) => bytes[i] === b);
}

/** Seals bytes under a key (pure but for the random IV). */
export function sealBytes(key: Uint8Array, keyId: string, scope: Scope, plain: Uint8Array): Uint8Array {
  const id = Buffer.from(keyId, 'utf8');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(additionalData(scope, keyId));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  const head = Buffer.alloc(SEALED_MAGIC.length + 2);
  head.set(SEALED_MAGIC, 0);
  head.writeUInt16BE(id.length, SEALED_MAGIC.length);
  return Buffer.concat([head, id, iv, cipher.getAuthTag(), body]);
}

/** The key id a sealed record names; DecodeError when the envelope is cut short. */
export function sealedKeyIdOf(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = SEALED_MAGIC.length;
  if (buf.length < at + 2) throw new DecodeError('sealed record: truncated header', { reason: 'truncated' });
  const length = buf.readUInt16BE(at);
  if (buf.length < at + 2 + length + IV_BYTES + TAG_BYTES) throw new DecodeError('sealed record: truncated envelope', { reason: 'truncated' });
  return buf.subarray(at + 2, at + 2 + length).toString('utf8');
}

/** Opens sealed bytes with their key; DecodeError when they were tampered with or belong elsewhere. */
export function openBytes(key: Uint8Array, scope: Scope, sealed: Uint8Array): Uint8Array {
  const keyId = sealedKeyIdOf(sealed);
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  let at = SEALED_MAGIC.length + 2 + Buffer.byteLength(keyId, 'utf8');
  const iv = buf.subarray(at, (at += IV_BYTES));
  const tag = buf.subarray(at, (at += TAG_BYTES));
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(additionalData(scope, keyId));
    decipher.setAuthTag(tag);
    const head = decipher.update(buf.subarray(at));
    const tail = decipher.final();
    // GCM is a stream mode: `final` only checks the tag and adds no bytes, so no copy is needed.
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch (cause) {
    throw new DecodeError(`sealed record under ${keyId} does not authenticate for ${scopeKey(scope)}`, { reason: 'seal', keyId }, cause);
  }
}

function additionalData(scope: Scope, keyId: string): Buffer {
  return Buffer.from(`${scopeKey(scope)}\u0000${keyId}`, 'utf8');
}
