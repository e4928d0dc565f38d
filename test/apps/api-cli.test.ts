/**
 * The CLI's side of the API: `engram keys create|list|revoke` over the data directory's key store,
 * and `engram search --url --key` querying a running server through the TypeScript client; and
 * the client quick-start example against a running server.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { message, openApiFixture, type ApiFixture } from './api-fixtures.js';

const MAIN = fileURLToPath(new URL('../../apps/cli/main.ts', import.meta.url));
const QUICKSTART = fileURLToPath(new URL('../../examples/client-quickstart.ts', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with only the ENGRAM_* settings given. */
function engram(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return run(MAIN, args, env);
}

/** Runs a TypeScript entry point with only the ENGRAM_* settings given. */
function run(script: string, args: string[], env: Record<string, string>): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ENGRAM_')));
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import=tsx', script, ...args], { env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let f: ApiFixture;
let base: string;

test.before(async () => {
  f = await openApiFixture();
  base = await f.server.app.listen({ port: 0, host: '127.0.0.1' });
  const key = f.key('acme');
  await f.call(key, { method: 'POST', url: '/v1/events', payload: [message('acme', 'dana', 1, 'I live in Lisbon and I work at Mozilla.')] });
  await f.server.idle();
});

test.after.always(async () => {
  await f.close();
});

test.serial('keys create prints the key once; the server accepts it; list hides it; revoke stops it', async (t) => {
  const created = await engram(['keys', 'create', '--tenant', 'acme', '--name', 'cli test', '--data-dir', f.dir]);
  t.is(created.code, 0, created.stderr);
  const key = created.stdout.trim();
  t.regex(key, /^egk_[A-Za-z0-9_-]{43}$/);
  t.regex(created.stderr, /not shown again/);

  const found = await engram(['search', '--url', base, '--key', key, '--user', 'dana', '--json', 'where does dana live']);
  t.is(found.code, 0, found.stderr);
  const hits = JSON.parse(found.stdout) as { text: string }[];
  t.true(hits.some((h) => /Lisbon/.test(h.text)));

  // The same through the environment, printed for people.
  const viaEnv = await engram(['search', '--user', 'dana', 'Lisbon'], { ENGRAM_URL: base, ENGRAM_API_KEY: key });
  t.is(viaEnv.code, 0, viaEnv.stderr);
  t.regex(viaEnv.stdout, /Lisbon/);

  const listed = await engram(['keys', 'list', '--tenant', 'acme', '--json', '--data-dir', f.dir]);
  t.is(listed.code, 0, listed.stderr);
  t.false(listed.stdout.includes(key));
  const record = (JSON.parse(listed.stdout) as { id: string; name: string }[]).find((k) => k.name === 'cli test');
  if (!record) return t.fail('the new key is not listed');

  const revoked = await engram(['keys', 'revoke', record.id, '--data-dir', f.dir]);
  t.is(revoked.code, 0, revoked.stderr);
  const refused = await engram(['search', '--url', base, '--key', key, '--user', 'dana', 'Lisbon']);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /engram: unauthorized: /);
});

test.serial('search --url needs a key; an admin key can be created', async (t) => {
  const noKey = await engram(['search', '--url', base, '--user', 'dana', 'Lisbon']);
  t.is(noKey.code, 2);
  t.regex(noKey.stderr, /--key/);
  const admin = await engram(['keys', 'create', '--tenant', 'acme', '--admin', '--json', '--data-dir', f.dir]);
  t.is(admin.code, 0, admin.stderr);
  const k = JSON.parse(admin.stdout) as { key: string; admin: boolean };
  t.true(k.admin);
  t.is(f.keys.verify(k.key)?.admin, true);
});

test.serial('the client quick-start example runs against a server', async (t) => {
  const res = await run(QUICKSTART, [], { ENGRAM_URL: base, ENGRAM_API_KEY: f.key('acme') });
  t.is(res.code, 0, res.stderr);
  t.regex(res.stdout, /caught up: true/);
  t.regex(res.stdout, /peanuts/);
  t.regex(res.stdout, /from Sam: "/);
});
