import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { DataDirError, StorageError } from '../../core/errors.js';

export type Db = Database.Database;

/** Opens (creating if needed) a SQLite file in WAL mode, with errors mapped to EngramErrors. */
export function openDatabase(path: string, opts: { readonly?: boolean; create?: boolean } = {}): Db {
  const dir = dirname(path);
  try {
    if (opts.create !== false) mkdirSync(dir, { recursive: true });
    else statSync(dir);
  } catch (cause) {
    throw new DataDirError(`data directory ${dir} cannot be used: ${(cause as Error).message}`, { cause });
  }
  let db: Db;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.create === false });
    // WAL survives a killed process with every committed transaction; NORMAL is durable against
    // process crashes (only a power loss could lose the last transactions).
    if (!opts.readonly) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    // Erasure must not leave deleted rows in free pages of any file (DESIGN.md §6).
    if (!opts.readonly) db.pragma('secure_delete = ON');
    // Touch the schema so that a non-database file fails here, not at first use.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (cause) {
    throw sqliteError(cause, path);
  }
  return db;
}

/** Maps a SQLite failure to a DataDirError (needs a person) or StorageError (may pass). */
export function sqliteError(cause: unknown, path: string): Error {
  const code = (cause as { code?: unknown }).code;
  const message = (cause as Error).message ?? String(cause);
  switch (code) {
    case 'SQLITE_CANTOPEN':
      return new DataDirError(`cannot open ${path}: ${message}`, { cause, details: { sqlite: code } });
    case 'SQLITE_READONLY':
    case 'SQLITE_READONLY_DIRECTORY':
    case 'SQLITE_READONLY_DBMOVED':
      return new DataDirError(`${path} is read-only: ${message}`, { cause, details: { sqlite: code } });
    case 'SQLITE_FULL':
      return new DataDirError(`disk full while writing ${path}: ${message}`, { cause, details: { sqlite: code } });
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return new DataDirError(`${path} is corrupt or not an Engram database: ${message}`, {
        cause,
        details: { sqlite: code },
      });
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new StorageError(`${path} is busy: ${message}`, { cause, retriable: true, details: { sqlite: code } });
    default:
      if (typeof code === 'string' && code.startsWith('SQLITE_IOERR')) {
        return new StorageError(`I/O error on ${path}: ${message}`, { cause, retriable: true, details: { sqlite: code } });
      }
      return cause instanceof Error ? cause : new StorageError(message, { cause });
  }
}

/** Runs `fn` and maps any SQLite error it throws. */
export function guardSqlite<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw sqliteError(cause, path);
  }
}
