/**
 * The KeyStore over `keys.db`: each user's keyring of 256-bit data keys, kept apart from the data
 * they protect so that destroying a key (erasure) makes the sealed log records unreadable while
 * the log itself is never rewritten. `secure_delete` zeroes destroyed keys on disk and a WAL
 * checkpoint after each destruction leaves no copy of them in the journal.
 */
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../../core/errors.js';
import type { KeyStore } from '../../core/ports.js';
import { scopeOf, type Scope } from '../../core/scope.js';
import { guardSqlite, openDatabase, type Db } from '../sqlite/open.js';

/** Key ids: `user`, `msg:<id>` or `mem:<id>`, at most 300 characters. */
const KEY_ID = /^(user|msg:.{1,256}|mem:.{1,256})$/s;

/** SqliteKeyStore implements KeyStore over a SQLite file. */
export class SqliteKeyStore implements KeyStore {
  private readonly db: Db;
  private readonly s;

  constructor(private readonly path: string) {
    this.db = openDatabase(path);
    guardSqlite(path, () => {
      this.db.pragma('secure_delete = ON');
      this.db.exec(`CREATE TABLE IF NOT EXISTS user_keys (
        tenant_id TEXT NOT NULL,
        user_id   TEXT NOT NULL,
        key_id    TEXT NOT NULL,
        key       BLOB NOT NULL,
        PRIMARY KEY (tenant_id, user_id, key_id)
      ) WITHOUT ROWID`);
    });
    this.s = {
      get: this.db.prepare<[string, string, string], { key: Buffer }>(
        'SELECT key FROM user_keys WHERE tenant_id = ? AND user_id = ? AND key_id = ?',
      ),
      // A concurrent creator may win the race: the first key stays and both callers read it back.
      put: this.db.prepare('INSERT OR IGNORE INTO user_keys (tenant_id, user_id, key_id, key) VALUES (?, ?, ?, ?)'),
      destroy: this.db.prepare('DELETE FROM user_keys WHERE tenant_id = ? AND user_id = ? AND key_id = ?'),
      destroyAll: this.db.prepare('DELETE FROM user_keys WHERE tenant_id = ? AND user_id = ?'),
    };
  }

  /** Keys for these ids, each created when absent (one transaction). */
  async obtain(scope: Scope, keyIds: readonly string[]): Promise<Map<string, Uint8Array>> {
    const s = scopeOf(scope?.tenantId, scope?.userId);
    for (const id of keyIds) checkKeyId(id);
    return guardSqlite(this.path, () =>
      this.db
        .transaction(() => {
          const out = new Map<string, Uint8Array>();
          for (const id of new Set(keyIds)) {
            this.s.put.run(s.tenantId, s.userId, id, randomBytes(32));
            out.set(id, new Uint8Array((this.s.get.get(s.tenantId, s.userId, id) as { key: Buffer }).key));
          }
          return out;
        })
        .immediate(),
    );
  }

  /** The key, or null when it never existed or was destroyed. */
  async get(scope: Scope, keyId: string): Promise<Uint8Array | null> {
    const s = scopeOf(scope?.tenantId, scope?.userId);
    checkKeyId(keyId);
    const row = guardSqlite(this.path, () => this.s.get.get(s.tenantId, s.userId, keyId));
    return row === undefined ? null : new Uint8Array(row.key);
  }

  /** Destroys these keys for good; returns how many existed. */
  async destroy(scope: Scope, keyIds: readonly string[]): Promise<number> {
    const s = scopeOf(scope?.tenantId, scope?.userId);
    for (const id of keyIds) checkKeyId(id);
    const n = guardSqlite(this.path, () =>
      this.db.transaction(() => keyIds.reduce((sum, id) => sum + this.s.destroy.run(s.tenantId, s.userId, id).changes, 0)).immediate(),
    );
    if (n > 0) this.checkpoint();
    return n;
  }

  /** Destroys the user's whole keyring; returns how many keys existed. */
  async destroyAll(scope: Scope): Promise<number> {
    const s = scopeOf(scope?.tenantId, scope?.userId);
    const n = guardSqlite(this.path, () => this.s.destroyAll.run(s.tenantId, s.userId).changes);
    if (n > 0) this.checkpoint();
    return n;
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Destroyed keys must not survive in the WAL either. */
  private checkpoint(): void {
    guardSqlite(this.path, () => this.db.pragma('wal_checkpoint(TRUNCATE)'));
  }
}

function checkKeyId(id: string): void {
  if (typeof id !== 'string' || !KEY_ID.test(id)) {
    throw new ValidationError(`key id must be user, msg:<id> or mem:<id>, got ${JSON.stringify(String(id).slice(0, 80))}`, { field: 'keyId' });
  }
}
