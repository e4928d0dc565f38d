/** The VectorIndex contract on the embedded adapter (sqlite-vec + FTS5), one fresh memory.db per case. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { openMemoryDb } from '../../infra/embedded/memory-db.js';
import { SqliteVectorIndex } from '../../infra/embedded/vector-index.js';
import { vectorIndexContract } from '../contracts/vector-index.contract.js';

const DIMS = 8;

vectorIndexContract(test, 'sqlite-vec', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const mdb = openMemoryDb(path.join(dir, 'memory.db'), DIMS);
  return {
    index: new SqliteVectorIndex(mdb),
    dims: DIMS,
    async close() {
      mdb.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

// The same contract through the fast paths of large scopes, for every scope: the binary first pass
// of dense search (rescored in its worker thread) and the in-memory keyword index.
vectorIndexContract(test, 'sqlite-vec (binary first pass, keywords in memory)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const mdb = openMemoryDb(path.join(dir, 'memory.db'), DIMS);
  const index = new SqliteVectorIndex(mdb, { exactSearchMax: 0, keywordCacheMin: 0, rescoreThread: true });
  return {
    index,
    dims: DIMS,
    async close() {
      await index.close();
      mdb.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
