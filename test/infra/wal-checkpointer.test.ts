/**
 * The background WAL checkpointer (infra/embedded/wal-checkpointer.ts): while a writer with
 * automatic checkpoints off keeps committing, another thread copies the log into the database
 * file, without blocking or losing a write; `stop` ends it and the writer's own checkpoint follows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startWalCheckpointer } from '../../infra/embedded/wal-checkpointer.js';
import { openDatabase } from '../../infra/sqlite/open.js';

test('committed pages reach the database file from another thread while the writer goes on', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'bulk.db');
  const db = openDatabase(file);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  db.pragma('wal_autocheckpoint = 0');
  const before = fs.statSync(file).size;
  const copier = startWalCheckpointer(file, 10);
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  // Commits spread over time, each a few pages, with turns of the event loop in between.
  for (let batch = 0; batch < 40; batch++) {
    db.transaction(() => {
      for (let i = 0; i < 25; i++) insert.run(Buffer.alloc(3000, batch));
    })();
    await new Promise((r) => setTimeout(r, 5));
  }
  await copier.stop();
  await copier.stop();
  t.true(fs.statSync(file).size > before + 1_000_000, 'the file grew while auto-checkpoints were off');
  t.is((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 1000);
  const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
  t.is(result?.busy, 0, 'the writer’s own checkpoint is not held up after stop');
  db.close();
});
