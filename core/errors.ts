/**
 * One error root for the whole service, in the style of kafkajs: every error has a stable `code`
 * and says whether retrying the same operation could succeed (`retriable`). Activities turn
 * non-retriable errors into non-retryable Temporal failures; the CLI prints `code: message`.
 */
export class EngramError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    message: string,
    opts: { code: string; retriable: boolean; details?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.retriable = opts.retriable;
    this.details = Object.freeze({ ...(opts.details ?? {}) });
  }
}

/** Input that can never become valid by retrying (bad ids, schema violations, unknown options). */
export class ValidationError extends EngramError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, { code: 'invalid_input', retriable: false, details });
  }
}

/** Bytes that are not a known Avro single-object encoding. */
export class DecodeError extends EngramError {
  constructor(message: string, details?: Record<string, unknown>, cause?: unknown) {
    super(message, { code: 'undecodable', retriable: false, details, cause });
  }
}

/** A thing that was asked for by id does not exist (in this tenant and user). */
export class NotFoundError extends EngramError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, { code: 'not_found', retriable: false, details });
  }
}

/** Bad configuration: unknown or malformed settings found at start-up. */
export class ConfigError extends EngramError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, { code: 'bad_config', retriable: false, details });
  }
}

/** The data directory is missing, unreadable, read-only, full or corrupt. */
export class DataDirError extends EngramError {
  constructor(message: string, opts: { retriable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { code: 'data_dir', retriable: opts.retriable ?? false, details: opts.details, cause: opts.cause });
  }
}

/** A storage engine failed in a way that may pass (busy, locked, transient I/O). */
export class StorageError extends EngramError {
  constructor(message: string, opts: { retriable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { code: 'storage', retriable: opts.retriable ?? true, details: opts.details, cause: opts.cause });
  }
}

/** The embedding model failed or returned something unusable. */
export class EmbedderError extends EngramError {
  constructor(message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, { code: 'embedder', retriable: opts.retriable ?? true, cause: opts.cause });
  }
}

/** True when an unknown thrown value is worth retrying. Unknown errors are retried. */
export function isRetriable(err: unknown): boolean {
  return err instanceof EngramError ? err.retriable : true;
}

/** A one-line, human readable description of any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof EngramError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
