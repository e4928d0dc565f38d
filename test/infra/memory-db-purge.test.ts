/**
 * A rebuild's clears leave freed pages unzeroed (memory.db's deferPurge) and zero them at the end:
 * the old text stays out of the file once the purge has run, also after a crash between the two
 * (the next open purges a file left marked).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Scope } from '../../core/scope.js';
import { openMemoryDb, type MemoryDb } from '../../infra/embedded/memory-db.js';
import { SqliteVectorIndex } from '../../infra/embedded/vector-index.js';
import { vectorDocFixture as doc } from '../helpers/fixtures.js';

const DIMS = 4;
const A: Scope = { tenantId: 'acme', userId: 'alice' };
const SECRET = 'zanzibarquokka';

interface Fixture {
  dir: string;
  file: string;
  mdb: MemoryDb;
}

function open(): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const file = path.join(dir, 'memory.db');
  return { dir, file, mdb: openMemoryDb(file, DIMS) };
}

/** Whether the file (after a full checkpoint, so the log holds nothing) contains `text`. */
function fileHolds(f: Fixture, text: string): boolean {
  f.mdb.db.pragma('wal_checkpoint(TRUNCATE)');
  return fs.readFileSync(f.file).includes(Buffer.from(text, 'utf8'));
}

const pending = (f: Fixture): boolean =>
  f.mdb.db.prepare("SELECT 1 FROM engram_meta WHERE key = 'purge_pending'").get() !== undefined;

/** Fills the store's history and the vector index (FTS5, vec0) with many rows holding `word`. */
async function fill(f: Fixture, word: string, n: number): Promise<void> {
  const index = new SqliteVectorIndex(f.mdb);
  const text = (i: number): string => `${word} ${i} ${'padding words here '.repeat(20)}`;
  await index.upsert(A, Array.from({ length: n }, (_, i) => doc(`${word}-${i}`, text(i), [1, i % 7, 0.5, 0.25])));
  const add = f.mdb.db.prepare(
    `INSERT INTO mem_history (tenant_id, user_id, memory_id, version, type, recorded_at, status, text, valid_from, valid_to, reason, event_id)
     VALUES ('acme', 'alice', ?, 1, 'MemoryAdded', 1, 'active', ?, 1, NULL, '', ?)`,
  );
  f.mdb.db.transaction(() => {
    for (let i = 0; i < n; i++) add.run(`${word}-${i}`, text(i), `e-${word}-${i}`);
  })();
}

/** What a rebuild's clear does: the index dropped and recreated, the store's tables emptied. */
async function clear(f: Fixture): Promise<void> {
  await new SqliteVectorIndex(f.mdb).clear();
  f.mdb.db.exec('DELETE FROM mem_history');
}

test('pages freed under deferPurge are zeroed by purgeFreePages, and the file is marked until then', async (t) => {
  const f = open();
  try {
    await fill(f, SECRET, 400);
    t.true(fileHolds(f, SECRET));
    await f.mdb.deferPurge(() => clear(f));
    t.true(pending(f));
    // Without the purge the old text is still in free pages: what the purge is for.
    t.true(fileHolds(f, SECRET));
    // A smaller load reuses some of the free pages; the rest still hold old text until the purge.
    await fill(f, 'other', 50);
    f.mdb.purgeFreePages();
    t.false(pending(f));
    t.false(fileHolds(f, SECRET));
    t.true(fileHolds(f, 'other'));
    // Still a sound database holding the new rows, and the purge's table is gone.
    t.is((f.mdb.db.pragma('integrity_check', { simple: true }) as string), 'ok');
    t.is((f.mdb.db.prepare('SELECT count(*) AS n FROM mem_history').get() as { n: number }).n, 50);
    t.is(f.mdb.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'engram_purge'").get(), undefined);
  } finally {
    f.mdb.close();
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
});

test('a file left marked (a rebuild that stopped after its clears) is purged when it is next opened', async (t) => {
  const f = open();
  try {
    await fill(f, SECRET, 300);
    await f.mdb.deferPurge(() => clear(f));
    f.mdb.db.pragma('wal_checkpoint(TRUNCATE)');
    f.mdb.close();
    t.true(fs.readFileSync(f.file).includes(Buffer.from(SECRET)));
    f.mdb = openMemoryDb(f.file, DIMS);
    t.false(pending(f));
    t.false(fileHolds(f, SECRET));
    // secure_delete is back on for what follows.
    t.is(f.mdb.db.pragma('secure_delete', { simple: true }), 1);
  } finally {
    f.mdb.close();
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
});

test('deferPurge restores secure_delete when its function fails', async (t) => {
  const f = open();
  try {
    await t.throwsAsync(f.mdb.deferPurge(async () => {
      throw new Error('boom');
    }), { message: 'boom' });
    t.is(f.mdb.db.pragma('secure_delete', { simple: true }), 1);
    t.true(pending(f));
    f.mdb.purgeFreePages();
    t.false(pending(f));
  } finally {
    f.mdb.close();
    fs.rmSync(f.dir, { recursive: true, force: true });
  }
});
