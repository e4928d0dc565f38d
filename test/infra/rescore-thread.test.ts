/**
 * Dense candidates rescored in a worker thread: the same lists as rescoring in this thread, this
 * thread's own rows inside a transaction, and a fallback to this thread when the worker fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { seededRng } from '../../core/random.js';
import type { Scope } from '../../core/scope.js';
import { openMemoryDb } from '../../infra/embedded/memory-db.js';
import { RescoreThread } from '../../infra/embedded/rescore-thread.js';
import { SqliteVectorIndex } from '../../infra/embedded/vector-index.js';
import { vectorDocFixture as doc } from '../helpers/fixtures.js';

const A: Scope = { tenantId: 'acme', userId: 'alice' };
const DIMS = 16;

function unit(rng: ReturnType<typeof seededRng>): number[] {
  const v = Array.from({ length: DIMS }, () => rng.next() - 0.5);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

test('rescoring in the worker gives the lists of rescoring here, and a transaction keeps it here', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const mdb = openMemoryDb(path.join(dir, 'memory.db'), DIMS);
  const threaded = new SqliteVectorIndex(mdb, { exactSearchMax: 0, rescoreThread: true });
  const here = new SqliteVectorIndex(mdb, { exactSearchMax: 0 });
  try {
    const rng = seededRng(3);
    await here.upsert(A, Array.from({ length: 300 }, (_, i) => doc(`m${i}`, `memory ${i}`, unit(rng))));
    for (let q = 0; q < 20; q++) {
      const v = unit(rng);
      t.deepEqual(await threaded.searchDense(A, v, 10), await here.searchDense(A, v, 10));
    }
    // Inside a transaction the worker cannot see the new row; the search still finds it.
    const v = unit(rng);
    let found: string | undefined;
    mdb.db.transaction(() => {
      threaded.applyWrites([{ op: 'upsert', scope: A, doc: doc('fresh', 'fresh', v) }]);
      void threaded.searchDense(A, v, 1).then((hits) => (found = hits[0]?.id));
    })();
    await new Promise((resolve) => setImmediate(resolve));
    t.is(found, 'fresh');
  } finally {
    await threaded.close();
    mdb.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker that cannot start fails its requests with a storage error; the index then rescores here', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const mdb = openMemoryDb(path.join(dir, 'memory.db'), DIMS);
  try {
    const broken = new RescoreThread(path.join(dir, 'missing.db'));
    const err = await t.throwsAsync(broken.rescore(new Float32Array(DIMS), [1]));
    t.is((err as { code?: string }).code, 'storage');
    await broken.close();
    // The index with a thread over a file the worker cannot open still answers.
    const rng = seededRng(4);
    const here = new SqliteVectorIndex(mdb, { exactSearchMax: 0 });
    const index = new SqliteVectorIndex(mdb, { exactSearchMax: 0, rescoreThread: broken });
    await index.upsert(A, Array.from({ length: 50 }, (_, i) => doc(`m${i}`, `memory ${i}`, unit(rng))));
    const v = unit(rng);
    t.deepEqual(await index.searchDense(A, v, 5), await here.searchDense(A, v, 5));
    await broken.close();
  } finally {
    mdb.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
