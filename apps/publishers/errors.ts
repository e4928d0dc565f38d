/**
 * Errors of the chat-platform receivers that `core/errors.ts` has no class for: a request whose
 * signature or timestamp does not check out (401), and an event for another tenant (403).
 */
import { EngramError } from '../../core/errors.js';

/** The request is not signed by the platform (bad, missing or stale signature). */
export class SignatureError extends EngramError {
  constructor(message: string) {
    super(message, { code: 'bad_signature', retriable: false });
  }
}

/** The request is authentic but asks for something outside the receiver's tenant. */
export class ForbiddenError extends EngramError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, { code: 'forbidden', retriable: false, details });
  }
}
