/**
 * Storage-fault battery: a data directory that fills up or is read-only gives a clear error (an
 * EngramError naming the directory or its file), corrupts nothing, and the next start recovers
 * and finishes the stream with nothing lost or duplicated.
 *
 * Tests run as root, which ignores permission bits, so the faults are made with tools that bind
 * root too: RLIMIT_FSIZE (`ulimit -f`: writes past the limit fail with EFBIG) always; and, where
 * a private mount namespace is allowed (`unshare -m`), a tiny tmpfs (a real ENOSPC) and a
 * read-only bind mount (EROFS), both gone when the namespace ends. Without namespaces a non-root
 * run makes the directory read-only with chmod; a root run without them skips those two tests.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { DataDirError, EngramError } from '../../core/errors.js';
import { removeDir, tempDir } from '../helpers/engine.js';
import { batteryEvents, openBatteryEngine, reportBattery } from '../helpers/reliability.js';

const CHILD = fileURLToPath(new URL('./fixtures/storage-child.ts', import.meta.url));
/** Defines `child ARGS…` (the fixture under tsx) in a bash script and in the shells it starts. */
const PRELUDE = 'child() { "$NODE_BIN" --import=tsx "$CHILD_TS" "$@"; }; export -f child; ';

/** Whether this process may create a private mount namespace and mount a tmpfs in it. */
const canMount =
  process.platform === 'linux' &&
  spawnSync('unshare', ['-m', 'sh', '-c', 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d"; rc=$?; rmdir "$d"; exit $rc'], {
    stdio: 'ignore',
    timeout: 10_000,
  }).status === 0;
const isRoot = process.getuid?.() === 0;
const mountTest = canMount ? test : test.skip;
const readOnlyTest = canMount || !isRoot ? test : test.skip;

interface ChildError {
  readonly name: string;
  readonly engram: boolean;
  readonly code: string | null;
  readonly message: string;
}
interface Check {
  readonly events: number;
  readonly integrity: Record<string, string>;
  readonly lost: number;
  readonly pending: number;
  readonly unremembered: number;
  readonly duplicates: number;
  readonly lag: number;
  readonly memories: number;
}

/** Runs a bash script with DIR and the `child` command defined; resolves with its stdout. */
function bash(script: string, dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, DIR: dir, NODE_BIN: process.execPath, CHILD_TS: CHILD };
    const child = spawn('bash', ['-c', PRELUDE + script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`script failed (${code}):\n${out}\n${err}`))));
  });
}

const lineOf = <T>(out: string, tag: string): T | null => {
  const m = new RegExp(`^${tag} (.*)$`, 'm').exec(out);
  return m?.[1] ? (JSON.parse(m[1]) as T) : null;
};

/** SHA-256 of every file under a directory, by relative path. */
function treeHash(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out[p.slice(dir.length)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** The fault's error is an EngramError naming the data directory; the files pass SQLite's check. */
function assertClearFault(t: ExecutionContext, out: string, dir: string, code: RegExp): ChildError | null {
  const error = lineOf<ChildError>(out, 'ERROR');
  t.truthy(error, `the child reported an error:\n${out}`);
  if (!error) return null;
  t.true(error.engram, `an EngramError, not ${error.name}: ${error.message}`);
  t.regex(error.code ?? '', code);
  t.true(error.message.includes(dir), `the message names the directory: ${error.message}`);
  const integrity = lineOf<Record<string, string>>(out, 'INTEGRITY');
  t.truthy(integrity);
  for (const [file, verdict] of Object.entries(integrity ?? {})) t.is(verdict, 'ok', `${file} is intact after the fault`);
  return error;
}

/** After recovery: everything accounted for, nothing duplicated, projections caught up, files intact. */
function assertRecovered(t: ExecutionContext, out: string, name: string, fault: ChildError | null): void {
  t.regex(out, /^DONE$/m, 'the next start finishes the stream');
  const check = lineOf<Check>(out, 'CHECK');
  t.truthy(check);
  if (!check) return;
  for (const [file, verdict] of Object.entries(check.integrity)) t.is(verdict, 'ok', `${file} is intact`);
  t.is(check.lost, 0);
  t.is(check.pending, 0);
  t.is(check.unremembered, 0);
  t.is(check.duplicates, 0);
  t.is(check.lag, 0);
  reportBattery(t, name, { events: check.events, lost: check.lost + check.unremembered, duplicated: check.duplicates, extra: `fault: ${fault?.name}: ${fault?.message.slice(0, 100)}; recovered, ${check.memories} memories` });
}

test('writes past a file-size limit (EFBIG) fail clearly, corrupt nothing, and the next start recovers', async (t) => {
  const dir = tempDir('engram-fsize-');
  t.teardown(() => removeDir(dir));
  // bash counts `ulimit -f` in KiB: 2 MiB lets the data directory open and fails mid-ingest.
  const faulted = await bash('(ulimit -f 2048; child ingest "$DIR"); child integrity "$DIR"', dir);
  const fault = assertClearFault(t, faulted, dir, /^(storage|data_dir)$/);
  t.regex(faulted, /^OPENED$/m, 'the fault came during ingestion, not at start');
  assertRecovered(t, await bash('child ingest "$DIR" && child check "$DIR"', dir), 'storage/file-size-limit', fault);
});

mountTest('a full disk (ENOSPC on a tiny tmpfs) fails clearly, corrupts nothing, and recovers once there is room', async (t) => {
  const dir = tempDir('engram-full-');
  t.teardown(() => removeDir(dir));
  // In a private mount namespace: the tmpfs (and its data) disappear with the script.
  const out = await bash(
    `unshare -m bash -c '
      mount -t tmpfs -o size=2m tmpfs "$DIR" || exit 1
      child ingest "$DIR"; child integrity "$DIR"
      echo ---RECOVERY---
      mount -o remount,size=256m "$DIR" || exit 1
      child ingest "$DIR" && child check "$DIR"'`,
    dir,
  );
  const [faulted = '', recovered = ''] = out.split('---RECOVERY---');
  const fault = assertClearFault(t, faulted, dir, /^data_dir$/);
  t.regex(fault?.message ?? '', /disk full/);
  assertRecovered(t, recovered, 'storage/full-disk', fault);
});

readOnlyTest('a read-only data directory is refused at start with a clear error, nothing changes, and the next start recovers', async (t) => {
  const dir = tempDir('engram-ro-');
  t.teardown(() => {
    if (!canMount) chmodSync(dir, 0o700);
    removeDir(dir);
  });
  // Half the stream, then the process dies (no orderly close).
  t.regex(await bash('child ingest "$DIR" 2', dir), /^STOPPED$/m);
  const before = treeHash(dir);
  let refused: string;
  if (canMount) {
    refused = await bash(`unshare -m bash -c 'mount --bind "$DIR" "$DIR" && mount -o remount,bind,ro "$DIR" && { child ingest "$DIR"; child integrity "$DIR"; }'`, dir);
  } else {
    chmodSync(dir, 0o500);
    refused = await bash('child ingest "$DIR"; child integrity "$DIR"', dir);
    chmodSync(dir, 0o700);
  }
  const fault = assertClearFault(t, refused, dir, /^data_dir$/);
  t.regex(fault?.message ?? '', /not writable|read-only/);
  t.deepEqual(treeHash(dir), before, 'not a byte of the data directory changed');
  assertRecovered(t, await bash('child ingest "$DIR" && child check "$DIR"', dir), 'storage/read-only', fault);
});

test('a data directory under a file, or a database path taken by a directory, gives a DataDirError naming it; fixing it recovers', async (t) => {
  const root = tempDir('engram-path-');
  t.teardown(() => removeDir(root));
  writeFileSync(join(root, 'file'), 'not a directory');
  const underFile = join(root, 'file', 'data');
  const e1 = await t.throwsAsync(openBatteryEngine(underFile), { instanceOf: DataDirError });
  t.true(e1?.message.includes(underFile), e1?.message);

  // A working directory whose memory.db (the projections) is replaced by a directory.
  const dir = join(root, 'data');
  const events = batteryEvents({ users: 2, messages: 12, seed: 3, tenantId: 'paths' });
  let engine = await openBatteryEngine(dir);
  await engine.publish(events);
  await engine.runUntilIdle();
  const expected = (await engine.memories({ tenantId: 'paths', userId: 'user0' }, true)).map((s) => s.memory.id).sort();
  await engine.close();
  removeDir(join(dir, 'memory.db'));
  for (const f of ['memory.db-wal', 'memory.db-shm']) removeDir(join(dir, f));
  mkdirSync(join(dir, 'memory.db'));
  const before = treeHash(dir);
  const e2 = await t.throwsAsync(openBatteryEngine(dir));
  t.true(e2 instanceof EngramError, `an EngramError, not ${e2?.name}`);
  t.true(e2?.message.includes(join(dir, 'memory.db')), e2?.message);
  t.deepEqual(treeHash(dir), before, 'the failed start changed nothing');

  // The fix: remove the stray directory; the projections are rebuilt from the log.
  removeDir(join(dir, 'memory.db'));
  engine = await openBatteryEngine(dir);
  t.teardown(() => engine.close());
  await engine.runUntilIdle();
  t.is(await engine.projectors.lag(), 0);
  t.deepEqual((await engine.memories({ tenantId: 'paths', userId: 'user0' }, true)).map((s) => s.memory.id).sort(), expected);
});
