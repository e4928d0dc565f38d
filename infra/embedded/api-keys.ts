/**
 * API keys of the HTTP API, in `api-keys.db` in the data directory. A key is 32 random bytes,
 * shown once as `egk_<base64url>`; only its SHA-256 is stored, so a copy of the file cannot be used
 * to call the API. Each key belongs to one tenant and may carry the admin scope; revoking a key
 * keeps its row (who had access, and until when) but it no longer verifies.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/random.js';
import { assertScopeId } from '../../core/scope.js';
import { guardSqlite, openDatabase, type Db } from '../sqlite/open.js';

/** The file, in the data directory (kept apart from `keys.db`, the users' data keys for erasure). */
export const API_KEYS_FILE = 'api-keys.db';
/** Every key starts with this, so a leaked key is recognisable (secret scanners, logs). */
export const API_KEY_PREFIX = 'egk_';
const KEY_BYTES = 32;
const MAX_NAME = 128;
/** `egk_` + 43 base64url characters (32 bytes). */
const KEY_SHAPE = /^egk_[A-Za-z0-9_-]{43}$/;

/** A key as listed: everything but the secret. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly admin: boolean;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** A newly created key: the secret is only ever returned here. */
export interface CreatedApiKey extends ApiKeyRecord {
  readonly key: string;
}

/** Who a verified key speaks for. */
export interface VerifiedKey {
  readonly keyId: string;
  readonly tenantId: string;
  readonly admin: boolean;
}

interface Row {
  id: string;
  tenant_id: string;
  name: string;
  admin: number;
  created_at: number;
  revoked_at: number | null;
}

const toRecord = (r: Row): ApiKeyRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  admin: r.admin === 1,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/** SHA-256 of the whole key string, hex. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The API key store over a SQLite file. */
export class SqliteApiKeys {
  private readonly db: Db;
  private readonly s;

  private constructor(
    private readonly path: string,
    private readonly clock: Clock,
    create: boolean,
  ) {
    this.db = openDatabase(path, { create });
    guardSqlite(path, () =>
      this.db.exec(`CREATE TABLE IF NOT EXISTS api_keys (
        id         TEXT PRIMARY KEY,
        hash       TEXT NOT NULL UNIQUE,
        tenant_id  TEXT NOT NULL,
        name       TEXT NOT NULL,
        admin      INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
      CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant_id, created_at)`),
    );
    const cols = 'id, tenant_id, name, admin, created_at, revoked_at';
    this.s = {
      insert: this.db.prepare('INSERT INTO api_keys (id, hash, tenant_id, name, admin, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)'),
      byHash: this.db.prepare<[string], Row>(`SELECT ${cols} FROM api_keys WHERE hash = ? AND revoked_at IS NULL`),
      byId: this.db.prepare<[string], Row>(`SELECT ${cols} FROM api_keys WHERE id = ?`),
      all: this.db.prepare<[], Row>(`SELECT ${cols} FROM api_keys ORDER BY created_at, id`),
      ofTenant: this.db.prepare<[string], Row>(`SELECT ${cols} FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id`),
      revoke: this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    };
  }

  /** Opens (creating unless `create: false`) the store at `path`. */
  static open(path: string, opts: { clock?: Clock; create?: boolean } = {}): SqliteApiKeys {
    return new SqliteApiKeys(path, opts.clock ?? systemClock, opts.create ?? true);
  }

  /** Opens the store of a data directory. */
  static inDataDir(dataDir: string, opts: { clock?: Clock; create?: boolean } = {}): SqliteApiKeys {
    return SqliteApiKeys.open(join(dataDir, API_KEYS_FILE), opts);
  }

  /** Creates a key for a tenant; the returned `key` is the only copy of the secret. */
  create(opts: { tenantId: string; name?: string; admin?: boolean }): CreatedApiKey {
    assertScopeId('tenant', opts.tenantId);
    const name = opts.name ?? '';
    if (typeof name !== 'string' || name.length > MAX_NAME) throw new ValidationError(`key name must be at most ${MAX_NAME} characters`, { field: 'name' });
    const key = API_KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
    const id = `key_${randomBytes(9).toString('base64url')}`;
    const createdAt = this.clock.now();
    const admin = opts.admin === true;
    guardSqlite(this.path, () => this.s.insert.run(id, hashApiKey(key), opts.tenantId, name, admin ? 1 : 0, createdAt));
    return { id, tenantId: opts.tenantId, name, admin, createdAt, revokedAt: null, key };
  }

  /** Keys of one tenant, or of every tenant, oldest first (secrets are never listed). */
  list(tenantId?: string): ApiKeyRecord[] {
    if (tenantId !== undefined) assertScopeId('tenant', tenantId);
    const rows = guardSqlite(this.path, () => (tenantId === undefined ? this.s.all.all() : this.s.ofTenant.all(tenantId)));
    return rows.map(toRecord);
  }

  /** Revokes a key (idempotent); NotFoundError for an unknown id. */
  revoke(id: string): ApiKeyRecord {
    guardSqlite(this.path, () => this.s.revoke.run(this.clock.now(), id));
    const row = guardSqlite(this.path, () => this.s.byId.get(id));
    if (!row) throw new NotFoundError(`no API key ${JSON.stringify(String(id).slice(0, 80))}`);
    return toRecord(row);
  }

  /** The tenant and scope of a presented key, or null when it is malformed, unknown or revoked. */
  verify(presented: string): VerifiedKey | null {
    if (!KEY_SHAPE.test(presented)) return null;
    // Looked up by hash: the time taken depends on the hash, not on how much of a secret matched.
    const row = guardSqlite(this.path, () => this.s.byHash.get(hashApiKey(presented)));
    return row ? { keyId: row.id, tenantId: row.tenant_id, admin: row.admin === 1 } : null;
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.db.open) this.db.close();
  }
}
