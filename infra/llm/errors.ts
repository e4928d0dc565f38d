/**
 * The error a language-model call ends with. `retriable` follows the cause: timeouts, network
 * failures, 429 and 5xx may pass; other 4xx and unusable responses will not.
 */
import { EngramError } from '../../core/errors.js';

/** The `code` of every LlmError (activities match on it without importing infra). */
export const LLM_ERROR_CODE = 'llm';

/** A failed call to an OpenAI-compatible chat model. */
export class LlmError extends EngramError {
  constructor(message: string, opts: { retriable: boolean; details?: Record<string, unknown>; cause?: unknown }) {
    super(message, { code: LLM_ERROR_CODE, retriable: opts.retriable, details: opts.details, cause: opts.cause });
  }
}
