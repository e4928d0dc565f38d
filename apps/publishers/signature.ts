/**
 * The cryptography the platforms sign requests with: HMAC-SHA256 (Slack, our generic webhook) and
 * Ed25519 (Discord), a constant-time comparison and the replay window on request timestamps. Pure:
 * the current time is a parameter.
 */
import { createHmac, createPublicKey, timingSafeEqual, verify as verifySignature } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SignatureError } from './errors.js';

/** How far a signed request's timestamp may be from now (Slack's documented 5 minutes). */
export const REPLAY_WINDOW_SECONDS = 5 * 60;

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Lower-case hex HMAC-SHA256 of `data` under `secret`. */
export function hmacSha256Hex(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data, 'utf8').digest('hex');
}

/** True when two strings are equal, compared in constant time (lengths are not secret). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Checks a Unix-seconds timestamp header against the replay window around `nowMs`; returns the
 * timestamp in seconds or throws SignatureError (missing, malformed or stale).
 */
export function assertFresh(timestamp: string | undefined, nowMs: number, windowSeconds = REPLAY_WINDOW_SECONDS): number {
  if (timestamp === undefined || timestamp === '') throw new SignatureError('missing request timestamp');
  if (!/^\d{1,12}$/.test(timestamp)) throw new SignatureError('malformed request timestamp');
  const seconds = Number(timestamp);
  if (Math.abs(nowMs / 1000 - seconds) > windowSeconds) {
    throw new SignatureError(`stale request: timestamp is more than ${windowSeconds} s from now`);
  }
  return seconds;
}

/** An Ed25519 public key from its 32 raw bytes in hex (as the Discord portal shows it), wrapped as SPKI DER. */
export function ed25519PublicKey(hex: string): KeyObject {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new SignatureError('an Ed25519 public key is 64 hex digits');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
}

/** True when `signatureHex` is a valid Ed25519 signature of `message` (UTF-8) under `key`. */
export function verifyEd25519(key: KeyObject, message: string, signatureHex: string): boolean {
  if (!/^[0-9a-fA-F]{128}$/.test(signatureHex)) return false;
  return verifySignature(null, Buffer.from(message, 'utf8'), key, Buffer.from(signatureHex, 'hex'));
}
