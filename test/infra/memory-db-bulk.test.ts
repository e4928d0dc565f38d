/**
 * memory.db bulk writes (a rebuild): with the only connection, a rollback journal for the load
 * and WAL again after it, even when the load fails; with another connection open, the WAL with
 * auto-checkpoints off and one checkpoint after; and after a crash in the middle of the load, the
 * file as its last commit left it. The rollback-journal load writes without syncing under a
 * marker file: after a machine stop (another boot) the next open empties the projections, or
 * refuses a damaged file with what to do.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import test from 'ava';
import { DataDirError } from '../../core/errors.js';
import { openMemoryDb, UNSYNCED_LOAD } from '../../infra/embedded/memory-db.js';
import { SqliteVectorIndex } from '../../infra/embedded/vector-index.js';
import { vectorDocFixture as doc } from '../helpers/fixtures.js';

const scope = { tenantId: 't', userId: 'u' };
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'bulk-crash-child.ts');

/** A fresh memory.db in a temp dir, closed and removed after `fn`. */
async function withMemoryDb(fn: (file: string, mdb: ReturnType<typeof openMemoryDb>) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const file = path.join(dir, 'memory.db');
  const mdb = openMemoryDb(file, 4);
  try {
    await fn(file, mdb);
  } finally {
    mdb.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('with no other reader, bulkWrites loads under a rollback journal and returns to WAL after, even when it fails', async (t) => {
  await withMemoryDb(async (file, mdb) => {
    const mode = (): string => String(mdb.db.pragma('journal_mode', { simple: true }));
    const index = new SqliteVectorIndex(mdb);
    t.is(mode(), 'wal');
    const synchronous = (): number => mdb.db.pragma('synchronous', { simple: true }) as number;
    t.is(synchronous(), 1);
    const written = await mdb.bulkWrites(async () => {
      t.is(mode(), 'delete');
      // No wait for the disk at each commit, under a marker holding this boot's id.
      t.is(synchronous(), 0);
      t.true(fs.existsSync(`${file}${UNSYNCED_LOAD}`));
      for (let i = 0; i < 50; i++) await index.upsert(scope, [doc(`m${i}`, `memory ${i} `.repeat(40), [1, i, 0, 0])]);
      // Every page went into the file itself: there is no log to copy back.
      t.false(fs.existsSync(`${file}-wal`));
      return 50;
    });
    t.is(written, 50);
    t.is(mode(), 'wal');
    t.is(synchronous(), 1);
    t.false(fs.existsSync(`${file}${UNSYNCED_LOAD}`), 'the synced end of the load removed the marker');
    await t.throwsAsync(
      mdb.bulkWrites(async () => {
        await index.upsert(scope, [doc('late', 'late', [0, 1, 0, 0])]);
        throw new Error('the rebuild failed');
      }),
      { message: 'the rebuild failed' },
    );
    t.is(mode(), 'wal');
    t.false(fs.existsSync(`${file}${UNSYNCED_LOAD}`));
    t.is(await index.count(scope), 51);
  });
});

test('with another connection reading, bulkWrites keeps the WAL: auto-checkpoints off inside, restored and the WAL emptied after', async (t) => {
  await withMemoryDb(async (file, mdb) => {
    const other = new Database(file);
    try {
      const autocheckpoint = (): number => mdb.db.pragma('wal_autocheckpoint', { simple: true }) as number;
      const before = autocheckpoint();
      t.true(before > 0);
      const index = new SqliteVectorIndex(mdb);
      // A read transaction in progress: leaving WAL mode would have to wait for it.
      other.exec('BEGIN');
      other.prepare('SELECT count(*) FROM vec_docs').get();
      await mdb.bulkWrites(async () => {
        t.is(mdb.db.pragma('journal_mode', { simple: true }), 'wal');
        other.exec('COMMIT');
        t.is(autocheckpoint(), 0);
        for (let i = 0; i < 50; i++) await index.upsert(scope, [doc(`m${i}`, `memory ${i} `.repeat(40), [1, i, 0, 0])]);
        t.true(fs.statSync(`${file}-wal`).size > 0);
      });
      t.is(autocheckpoint(), before);
      t.is(fs.statSync(`${file}-wal`).size, 0);
      t.is(mdb.db.pragma('busy_timeout', { simple: true }), 5000);
      // The other connection reads what the load wrote.
      t.is((other.prepare('SELECT count(*) AS n FROM vec_docs').get() as { n: number }).n, 50);
    } finally {
      other.close();
    }
  });
});

test('a crash in the middle of a bulk load leaves the file as its last commit left it, in WAL mode again on open', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const file = path.join(dir, 'memory.db');
  try {
    const child = spawnSync(process.execPath, ['--import=tsx', CHILD, file], { encoding: 'utf8' });
    t.is(child.signal, 'SIGKILL', child.stderr);
    t.regex(child.stdout, /mode delete/);
    // The crash left the rollback journal behind: opening rolls the unfinished transaction back.
    t.true(fs.existsSync(`${file}-journal`));
    // The same boot: the process died, the machine did not; the file is kept as its last commit left it.
    t.true(fs.existsSync(`${file}${UNSYNCED_LOAD}`));
    const mdb = openMemoryDb(file, 4);
    t.false(fs.existsSync(`${file}${UNSYNCED_LOAD}`));
    try {
      t.is(mdb.db.pragma('integrity_check', { simple: true }), 'ok');
      t.is(mdb.db.pragma('journal_mode', { simple: true }), 'wal');
      t.is(await new SqliteVectorIndex(mdb).count(scope), 40);
      t.is((mdb.db.prepare("SELECT count(*) AS n FROM engram_meta WHERE key LIKE 'lost%'").get() as { n: number }).n, 0);
    } finally {
      mdb.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a reader holding on when the load ends leaves the file under its rollback journal, whole, until the next open sets WAL again', async (t) => {
  await withMemoryDb(async (file, mdb) => {
    const index = new SqliteVectorIndex(mdb);
    const other = new Database(file);
    try {
      const written = await mdb.bulkWrites(async () => {
        await index.upsert(scope, [doc('m1', 'one memory', [1, 0, 0, 0])]);
        // A read transaction begun under the rollback journal holds its lock past the end of the load.
        other.exec('BEGIN');
        other.prepare('SELECT count(*) FROM vec_docs').get();
        return 1;
      });
      t.is(written, 1);
      t.is(mdb.db.pragma('journal_mode', { simple: true }), 'delete');
      other.exec('COMMIT');
    } finally {
      other.close();
    }
    mdb.close();
    const again = openMemoryDb(file, 4);
    try {
      t.is(again.db.pragma('journal_mode', { simple: true }), 'wal');
      t.is(again.db.pragma('integrity_check', { simple: true }), 'ok');
      t.is(await new SqliteVectorIndex(again).count(scope), 1);
    } finally {
      again.close();
    }
  });
});

/** A memory.db with documents and a checkpoint, closed, and a marker as an unsynced load on another boot leaves it. */
async function stoppedDuringLoad(dir: string, docs: number): Promise<string> {
  const file = path.join(dir, 'memory.db');
  const mdb = openMemoryDb(file, 4);
  const index = new SqliteVectorIndex(mdb);
  for (let i = 0; i < docs; i++) await index.upsert(scope, [doc(`m${i}`, `memory ${i} `.repeat(40), [1, i, 0, 0])]);
  await mdb.checkpoints.saveCheckpoint('vector-index', 'memory-events', 0, docs);
  mdb.close();
  fs.writeFileSync(`${file}${UNSYNCED_LOAD}`, 'a-boot-before-this-one');
  return file;
}

test('after the machine stopped during an unsynced load, the next open empties every projection and its checkpoints', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  try {
    const file = await stoppedDuringLoad(dir, 30);
    const mdb = openMemoryDb(file, 4);
    try {
      t.false(fs.existsSync(`${file}${UNSYNCED_LOAD}`));
      const index = new SqliteVectorIndex(mdb);
      t.is(await index.count(scope), 0);
      t.is(await mdb.checkpoints.checkpoint('vector-index', 'memory-events', 0), 0, 'the projector starts again from the beginning of the log');
      t.is((mdb.db.prepare('SELECT count(*) AS n FROM fts_memories').get() as { n: number }).n, 0);
      t.is(mdb.db.pragma('integrity_check', { simple: true }), 'ok');
      // Still a working file, with its schema.
      await index.upsert(scope, [doc('again', 'written again', [0, 1, 0, 0])]);
      t.deepEqual((await index.searchDense(scope, [0, 1, 0, 0], 1)).map((r) => r.id), ['again']);
    } finally {
      mdb.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('after the machine stopped during an unsynced load, a damaged file is refused with what to do', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  try {
    const file = await stoppedDuringLoad(dir, 200);
    // Pages written out of order: garbage over a stretch in the middle of the file.
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(64 * 1024, 0xa5), 0, 64 * 1024, Math.floor(size / 2 / 4096) * 4096);
    fs.closeSync(fd);
    const err = t.throws(() => openMemoryDb(file, 4), { instanceOf: DataDirError });
    t.regex(err?.message ?? '', /being rebuilt when the machine stopped and is damaged.*delete it.*engram replay/);
    t.true(fs.existsSync(`${file}${UNSYNCED_LOAD}`), 'the marker stays until the file is dealt with');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
