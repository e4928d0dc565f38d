/** The API key store: random keys shown once, stored as SHA-256 only, per tenant, revocable. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ValidationError } from '../../core/errors.js';
import { API_KEYS_FILE, hashApiKey, SqliteApiKeys } from '../../infra/embedded/api-keys.js';
import { removeDir, tempDir } from '../helpers/engine.js';

function open(t: { teardown(fn: () => void): void }): { dir: string; keys: SqliteApiKeys } {
  const dir = tempDir();
  let now = Date.parse('2024-05-01T00:00:00Z');
  const keys = SqliteApiKeys.inDataDir(dir, { clock: { now: () => (now += 1000) } });
  t.teardown(() => {
    keys.close();
    removeDir(dir);
  });
  return { dir, keys };
}

test('a created key verifies to its tenant and scope; keys are random and prefixed', (t) => {
  const { keys } = open(t);
  const a = keys.create({ tenantId: 'acme', name: 'bot' });
  const b = keys.create({ tenantId: 'acme', admin: true });
  t.regex(a.key, /^egk_[A-Za-z0-9_-]{43}$/);
  t.not(a.key, b.key);
  t.not(a.id, b.id);
  t.deepEqual(keys.verify(a.key), { keyId: a.id, tenantId: 'acme', admin: false });
  t.deepEqual(keys.verify(b.key), { keyId: b.id, tenantId: 'acme', admin: true });
  t.is(a.name, 'bot');
  t.is(a.revokedAt, null);
});

test('unknown, malformed and near-miss keys do not verify', (t) => {
  const { keys } = open(t);
  const a = keys.create({ tenantId: 'acme' });
  t.is(keys.verify(''), null);
  t.is(keys.verify('egk_short'), null);
  t.is(keys.verify(a.key.slice(4)), null);
  const last = a.key.at(-1) === 'A' ? 'B' : 'A';
  t.is(keys.verify(a.key.slice(0, -1) + last), null);
  t.is(keys.verify(`${a.key} `), null);
});

test('only the hash is stored: the secret is nowhere in the data directory', (t) => {
  const { dir, keys } = open(t);
  const a = keys.create({ tenantId: 'acme' });
  keys.close();
  const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1'));
  t.true(files.length > 0 && readdirSync(dir).includes(API_KEYS_FILE));
  t.false(files.some((content) => content.includes(a.key) || content.includes(a.key.slice(4))));
  t.true(files.some((content) => content.includes(hashApiKey(a.key))));
  // And it survives a reopen.
  const again = SqliteApiKeys.inDataDir(dir);
  t.is(again.verify(a.key)?.tenantId, 'acme');
  again.close();
});

test('list (per tenant or all) never shows secrets; revoke stops a key and keeps its record', (t) => {
  const { keys } = open(t);
  const a = keys.create({ tenantId: 'acme' });
  const g = keys.create({ tenantId: 'globex', admin: true });
  t.deepEqual(
    keys.list().map((k) => k.id),
    [a.id, g.id],
  );
  t.deepEqual(
    keys.list('globex').map((k) => k.id),
    [g.id],
  );
  t.false(JSON.stringify(keys.list()).includes(a.key));
  const revoked = keys.revoke(a.id);
  t.is(typeof revoked.revokedAt, 'number');
  t.is(keys.verify(a.key), null);
  t.is(keys.list('acme')[0]?.revokedAt, revoked.revokedAt);
  // Idempotent; unknown ids are not found.
  t.is(keys.revoke(a.id).revokedAt, revoked.revokedAt);
  t.throws(() => keys.revoke('key_nope'), { message: /no API key/ });
  t.is(keys.verify(g.key)?.admin, true);
});

test('tenant ids and names are validated', (t) => {
  const { keys } = open(t);
  t.throws(() => keys.create({ tenantId: 'a/b' }), { instanceOf: ValidationError });
  t.throws(() => keys.create({ tenantId: '' }), { instanceOf: ValidationError });
  t.throws(() => keys.create({ tenantId: 'acme', name: 'x'.repeat(200) }), { instanceOf: ValidationError });
  t.throws(() => keys.list('../etc'), { instanceOf: ValidationError });
});
