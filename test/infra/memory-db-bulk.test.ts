/** memory.db bulk writes: auto-checkpoints off while a rebuild writes, one checkpoint after, even on failure. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { openMemoryDb } from '../../infra/embedded/memory-db.js';
import { SqliteVectorIndex } from '../../infra/embedded/vector-index.js';
import { vectorDocFixture as doc } from '../helpers/fixtures.js';

test('bulkWrites turns WAL auto-checkpoints off inside, restores them and empties the WAL after, even when it fails', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const file = path.join(dir, 'memory.db');
  const mdb = openMemoryDb(file, 4);
  try {
    const autocheckpoint = (): number => mdb.db.pragma('wal_autocheckpoint', { simple: true }) as number;
    const before = autocheckpoint();
    t.true(before > 0);
    const index = new SqliteVectorIndex(mdb);
    const written = await mdb.bulkWrites(async () => {
      t.is(autocheckpoint(), 0);
      for (let i = 0; i < 50; i++) await index.upsert({ tenantId: 't', userId: 'u' }, [doc(`m${i}`, `memory ${i} `.repeat(40), [1, i, 0, 0])]);
      t.true(fs.statSync(`${file}-wal`).size > 0);
      return 50;
    });
    t.is(written, 50);
    t.is(autocheckpoint(), before);
    t.is(fs.statSync(`${file}-wal`).size, 0);
    await t.throwsAsync(
      mdb.bulkWrites(async () => {
        await index.upsert({ tenantId: 't', userId: 'u' }, [doc('late', 'late', [0, 1, 0, 0])]);
        throw new Error('the rebuild failed');
      }),
      { message: 'the rebuild failed' },
    );
    t.is(autocheckpoint(), before);
    t.is(fs.statSync(`${file}-wal`).size, 0);
    t.is(await index.count({ tenantId: 't', userId: 'u' }), 51);
  } finally {
    mdb.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
