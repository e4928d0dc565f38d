/**
 * The vector index during a rebuild (`beginRebuild` … `endRebuild`): writes skip the lookup that
 * tells a new document from a stored one, and must leave exactly the rows that ordinary writes
 * leave (vec_docs, vec_vectors, vec0, FTS5, scope versions), also after a failed batch (the
 * documents in memory are dropped), and when the rebuild starts over an index that already holds
 * documents.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { VectorWrite } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import { openMemoryDb, type MemoryDb } from '../../infra/embedded/memory-db.js';
import { SqliteVectorIndex } from '../../infra/embedded/vector-index.js';
import { vectorDocFixture as doc } from '../helpers/fixtures.js';

const DIMS = 4;
const A: Scope = { tenantId: 'acme', userId: 'alice' };
const B: Scope = { tenantId: 'acme', userId: 'bob' };

const up = (scope: Scope, id: string, text: string, v: number[], over = {}): VectorWrite => ({ op: 'upsert', scope, doc: doc(id, text, v, over) });
const status = (scope: Scope, id: string, s: 'invalidated' | 'active' | 'archived'): VectorWrite => ({
  op: 'status',
  scope,
  id,
  status: s,
  validTo: s === 'invalidated' ? 700 : null,
  supersededAt: s === 'invalidated' ? 710 : null,
});
const remove = (scope: Scope, id: string): VectorWrite => ({ op: 'remove', scope, id });

/** Every kind of write, for documents written before, not yet, never, and removed. */
const HISTORY: VectorWrite[][] = [
  [
    status(A, 'early', 'invalidated'),
    up(A, 'a', 'Alice lives in Paris', [1, 0, 0, 0]),
    up(B, 'a', 'Bob has his own a', [0, 1, 0, 0]),
    up(A, 'b', 'Bob likes tea', [0.5, 0.5, 0, 0], { granularity: 'session' }),
    up(A, 'a', 'Alice lives in Berlin', [1, 0.1, 0, 0]),
    status(A, 'b', 'invalidated'),
    remove(A, 'never'),
  ],
  [
    remove(A, 'a'),
    up(A, 'a', 'Alice is back', [0.9, 0, 0.1, 0]),
    status(A, 'b', 'active'),
    up(A, 'b', 'Bob likes tea', [0.5, 0.5, 0, 0], { granularity: 'fact', status: 'quarantined' }),
    up(B, 'c', 'Carol', [0, 0, 1, 0]),
    status(B, 'c', 'archived'),
    remove(B, 'a'),
  ],
];

function rows(mdb: MemoryDb): Record<string, unknown[]> {
  const q = (sql: string): unknown[] => mdb.db.prepare(sql).all();
  return {
    docs: q('SELECT * FROM vec_docs ORDER BY doc_id'),
    vectors: q('SELECT * FROM vec_vectors ORDER BY doc_id'),
    vec0: q('SELECT rowid, scope, embedding, kind, granularity, status, valid_from, valid_to, recorded_at, superseded_at FROM vec_memories ORDER BY rowid'),
    fts: q('SELECT rowid, text, scope, tags FROM fts_memories ORDER BY rowid'),
    versions: q('SELECT * FROM vec_scope_versions ORDER BY scope'),
  };
}

/** Applies the batches to a fresh index (optionally in rebuild mode after `prefix`); returns the rows. */
function run(
  batches: readonly VectorWrite[][],
  rebuild: boolean,
  prefix: readonly VectorWrite[][] = [],
  extra?: (index: SqliteVectorIndex, mdb: MemoryDb) => void,
): Record<string, unknown[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const mdb = openMemoryDb(path.join(dir, 'memory.db'), DIMS);
  try {
    const index = new SqliteVectorIndex(mdb);
    for (const b of prefix) index.applyWrites(b);
    if (rebuild) index.beginRebuild();
    for (const b of batches) index.applyWrites(b);
    extra?.(index, mdb);
    index.endRebuild();
    return rows(mdb);
  } finally {
    mdb.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('rebuild mode leaves the rows ordinary writes leave, for every kind of write', (t) => {
  const expected = run(HISTORY, false);
  t.is(expected['docs']?.length, 3, 'a and b of alice, c of bob');
  t.deepEqual(run(HISTORY, true), expected);
});

test('rebuild mode over an index that already holds documents', (t) => {
  t.deepEqual(run(HISTORY.slice(1), true, HISTORY.slice(0, 1)), run(HISTORY, false));
});

test('rebuild mode: a failed batch rolls back, the documents in memory go, later writes still equal', (t) => {
  // Rolled back: the removal of c; a copy in memory kept would take c for absent and insert it twice.
  const body = (index: SqliteVectorIndex, mdb: MemoryDb): void => {
    mdb.db.exec("CREATE TEMP TRIGGER boom BEFORE INSERT ON vec_docs WHEN NEW.memory_id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END");
    t.throws(() => index.applyWrites([remove(B, 'c'), up(B, 'boom', 'boom', [1, 1, 1, 1])]), { any: true, message: /boom/ });
    mdb.db.exec('DROP TRIGGER boom');
    index.applyWrites([up(B, 'c', 'Carol again', [0, 0, 1, 1]), up(A, 'd', 'Dan', [0, 1, 1, 0])]);
  };
  const expected = run(HISTORY, false, [], body);
  t.true(JSON.stringify(expected['fts']).includes('Carol again'));
  t.deepEqual(run(HISTORY, true, [], body), expected);
});

test('rebuild mode: writes inside a caller transaction that rolls back leave later writes equal', (t) => {
  const body = (index: SqliteVectorIndex, mdb: MemoryDb): void => {
    t.throws(() =>
      mdb.db.transaction(() => {
        index.applyWrites([remove(A, 'b')]);
        throw new Error('caller fails');
      })(),
    );
    index.applyWrites([up(A, 'b', 'Bob likes coffee', [0.5, 0.5, 0.5, 0])]);
  };
  t.deepEqual(run(HISTORY, true, [], body), run(HISTORY, false, [], body));
});
