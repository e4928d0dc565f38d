import test from 'ava';
import { RecentIds } from '../../apps/publishers/dedup.js';
import { enabledHooks, publisherSettingsOf } from '../../apps/publishers/plugin.js';
import { assertFresh, ed25519PublicKey, safeEqual } from '../../apps/publishers/signature.js';
import { ConfigError } from '../../core/errors.js';
import { loadConfig } from '../../infra/config.js';

const KEY = 'a'.repeat(64);

test('publisher settings come from ENGRAM_* variables; each hook is on only with its secret', (t) => {
  t.deepEqual(publisherSettingsOf(loadConfig({}).publishers), {});
  t.deepEqual(enabledHooks(publisherSettingsOf(loadConfig({}).publishers)), []);
  const config = loadConfig({
    ENGRAM_SLACK_SIGNING_SECRET: 'slack-secret',
    ENGRAM_SLACK_TENANT: 'acme',
    ENGRAM_DISCORD_PUBLIC_KEY: KEY,
    ENGRAM_DISCORD_TENANT: 'acme',
    ENGRAM_WEBHOOK_SECRET: 'hook-secret',
    ENGRAM_WEBHOOK_TENANT: 'globex',
  });
  const settings = publisherSettingsOf(config.publishers);
  t.deepEqual(settings.slack, { signingSecret: 'slack-secret', tenantId: 'acme' });
  t.deepEqual(settings.discord, { tenantId: 'acme', publicKey: KEY, relaySecret: undefined });
  t.deepEqual(settings.webhook, { secret: 'hook-secret', tenantId: 'globex' });
  t.deepEqual(enabledHooks(settings), ['/v1/hooks/slack', '/v1/hooks/discord', '/v1/hooks/webhook']);
  t.true(Object.isFrozen(config.publishers));
});

test('a platform secret without its tenant, a bad key or a bad tenant is a start-up error that never shows the secret', (t) => {
  const noTenant = t.throws(() => loadConfig({ ENGRAM_SLACK_SIGNING_SECRET: 'sup3r-s3cret' }), { instanceOf: ConfigError });
  t.regex(noTenant?.message ?? '', /ENGRAM_SLACK_TENANT/);
  t.false(noTenant?.message.includes('sup3r-s3cret'));
  const relay = t.throws(() => loadConfig({ ENGRAM_DISCORD_RELAY_SECRET: 'relay-s3cret' }), { instanceOf: ConfigError });
  t.regex(relay?.message ?? '', /ENGRAM_DISCORD_TENANT/);
  t.throws(() => loadConfig({ ENGRAM_DISCORD_PUBLIC_KEY: 'abc', ENGRAM_DISCORD_TENANT: 'acme' }), { instanceOf: ConfigError, message: /discordPublicKey/ });
  const badTenant = t.throws(() => loadConfig({ ENGRAM_WEBHOOK_SECRET: 'w3bhook-s3cret', ENGRAM_WEBHOOK_TENANT: 'no spaces' }), { instanceOf: ConfigError });
  t.false(badTenant?.message.includes('w3bhook-s3cret'));
});

test('RecentIds runs work once per id, forgets the oldest beyond capacity, and does not remember failures', async (t) => {
  const recent = new RecentIds(3);
  const seen: string[][] = [];
  const work = async (fresh: readonly string[]) => {
    seen.push([...fresh]);
    return fresh.length;
  };
  t.like(await recent.once(['a', 'b', 'a'], work), { fresh: ['a', 'b'], duplicates: 0, result: 2 });
  t.like(await recent.once(['b', 'c'], work), { fresh: ['c'], duplicates: 1, result: 1 });
  t.like(await recent.once(['a', 'b', 'c'], work), { fresh: [], duplicates: 3, result: null });
  await recent.once(['d'], work);
  t.false(recent.has('a'));
  t.true(recent.has('d'));
  await t.throwsAsync(recent.once(['e'], async () => Promise.reject(new Error('down'))), { message: 'down' });
  t.false(recent.has('e'));
  t.like(await recent.once(['e'], work), { fresh: ['e'] });
  t.deepEqual(seen, [['a', 'b'], ['c'], ['d'], ['e']]);
});

test('signature helpers: replay window, constant-time equality, key shape', (t) => {
  const now = Date.UTC(2024, 4, 1, 10, 5, 0);
  t.is(assertFresh(String(now / 1000 - 300), now), now / 1000 - 300);
  t.throws(() => assertFresh(String(now / 1000 - 301), now), { message: /stale/ });
  t.throws(() => assertFresh(undefined, now), { message: /missing/ });
  t.throws(() => assertFresh('1e9', now), { message: /malformed/ });
  t.true(safeEqual('v0=abc', 'v0=abc'));
  t.false(safeEqual('v0=abc', 'v0=abd'));
  t.false(safeEqual('v0=abc', 'v0=ab'));
  t.is(ed25519PublicKey(KEY).asymmetricKeyType, 'ed25519');
  t.throws(() => ed25519PublicKey('abc'));
});
