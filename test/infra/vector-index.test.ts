import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { ConfigError, ValidationError } from '../../core/errors.js';
import type { Scope } from '../../core/scope.js';
import { openMemoryDb } from '../../infra/embedded/memory-db.js';
import type { MemoryDb } from '../../infra/embedded/memory-db.js';
import { SqliteVectorIndex, toFtsQuery } from '../../infra/embedded/vector-index.js';
import { vectorDocFixture as doc } from '../helpers/fixtures.js';

const DIMS = 4;
const A: Scope = { tenantId: 'acme', userId: 'alice' };
const HOSTILE = [
  '"',
  '""',
  '*',
  'NEAR(',
  'NEAR(a b',
  '-',
  ':',
  'text:foo',
  'scope:acme',
  'a AND',
  'OR OR',
  'NOT',
  '(',
  ')',
  '^start',
  "'; DROP TABLE vec_docs; --",
  'hike*',
  '{text scope}: x',
  '\u0000',
  '',
  '   ',
];

interface Fixture {
  dir: string;
  file: string;
  mdb: MemoryDb;
  index: SqliteVectorIndex;
}

function open(dims = DIMS): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const file = path.join(dir, 'memory.db');
  const mdb = openMemoryDb(file, dims);
  return { dir, file, mdb, index: new SqliteVectorIndex(mdb) };
}

function close(f: Fixture): void {
  f.mdb.close();
  fs.rmSync(f.dir, { recursive: true, force: true });
}

const ids = (rows: readonly { id: string }[]): string[] => rows.map((r) => r.id);

test('dense search returns nearest first with cosine similarity as score', async (t) => {
  const f = open();
  try {
    await f.index.upsert(A, [
      doc('far', 'far', [0, 1, 0, 0]),
      doc('near', 'near', [1, 0.1, 0, 0]),
      doc('exact', 'exact', [2, 0, 0, 0]),
      doc('mid', 'mid', [1, 1, 0, 0]),
      doc('opposite', 'opposite', [-1, 0, 0, 0]),
    ]);
    const hits = await f.index.searchDense(A, [1, 0, 0, 0], 10);
    t.deepEqual(ids(hits), ['exact', 'near', 'mid', 'far', 'opposite']);
    const score = (id: string): number => hits.find((h) => h.id === id)?.score ?? NaN;
    t.true(Math.abs(score('exact') - 1) < 1e-6);
    t.true(Math.abs(score('mid') - Math.SQRT1_2) < 1e-6);
    t.true(Math.abs(score('far')) < 1e-6);
    t.true(Math.abs(score('opposite') + 1) < 1e-6);
    t.deepEqual(ids(await f.index.searchDense(A, [1, 0, 0, 0], 2)), ['exact', 'near']);
    t.deepEqual(await f.index.searchDense(A, [1, 0, 0, 0], 0), []);
  } finally {
    close(f);
  }
});

test('keyword search ranks by BM25 with stemming and positive scores', async (t) => {
  const f = open();
  try {
    await f.index.upsert(A, [
      doc('hiking', 'Alice loves hiking in the mountains', [1, 0, 0, 0]),
      doc('both', 'Hiking trips and mountain hikes every weekend: she hikes a lot', [1, 0, 0, 0]),
      doc('cooking', 'Alice is learning to cook Thai food', [1, 0, 0, 0]),
    ]);
    const hits = await f.index.searchText(A, 'hike', 10);
    t.deepEqual(ids(hits), ['both', 'hiking']);
    t.true(hits.every((h) => h.score > 0));
    t.true((hits[0]?.score ?? 0) > (hits[1]?.score ?? 0));
    t.deepEqual(ids(await f.index.searchText(A, 'COOKING food', 10)), ['cooking']);
    // OR semantics: any matching word is enough.
    t.deepEqual(ids(await f.index.searchText(A, 'thai mountains', 10)).sort(), ['both', 'cooking', 'hiking']);
    t.deepEqual(await f.index.searchText(A, 'zebra', 10), []);
    t.is((await f.index.searchText(A, 'hike', 1)).length, 1);
  } finally {
    close(f);
  }
});

test('two tenants and two users never see each other, whatever the query', async (t) => {
  const f = open();
  try {
    const scopes: Scope[] = [
      { tenantId: 't1', userId: 'u1' },
      { tenantId: 't1', userId: 'u2' },
      { tenantId: 't2', userId: 'u1' },
      { tenantId: 't2', userId: 'u2' },
    ];
    // The same memory id in every scope, each with its own text and vector.
    for (const [i, s] of scopes.entries()) {
      const v = [0, 0, 0, 0];
      v[i] = 1;
      await f.index.upsert(s, [doc('shared-id', `secret${i} common words`, v), doc(`own-${i}`, `secret${i} common`, v)]);
    }
    for (const [i, s] of scopes.entries()) {
      const mine = new Set(['shared-id', `own-${i}`]);
      for (const q of [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]) {
        const hits = await f.index.searchDense(s, q, 100, { statuses: ['active', 'invalidated', 'forgotten'] });
        t.deepEqual(ids(hits).sort(), [...mine].sort());
      }
      for (const q of ['common', 'secret0 secret1 secret2 secret3', ...HOSTILE, 'u1 u2 t1 t2 t1/u1']) {
        const hits = await f.index.searchText(s, q, 100);
        t.true(ids(hits).every((id) => mine.has(id)), `query ${JSON.stringify(q)} in scope ${i}`);
      }
      const other = (i + 1) % 4;
      t.deepEqual(await f.index.searchText(s, `secret${other}`, 100), []);
    }
    // Writes are scoped too: removing or invalidating in one scope leaves the others alone.
    await f.index.setStatus(scopes[0]!, 'shared-id', 'invalidated', 200, 200);
    await f.index.remove(scopes[1]!, ['shared-id']);
    t.deepEqual(ids(await f.index.searchText(scopes[0]!, 'common', 10)), ['own-0']);
    t.deepEqual(ids(await f.index.searchText(scopes[1]!, 'common', 10)), ['own-1']);
    t.deepEqual(ids(await f.index.searchText(scopes[2]!, 'words', 10)), ['shared-id']);
    t.deepEqual(ids(await f.index.searchText(scopes[3]!, 'words', 10)), ['shared-id']);
    t.is(await f.index.count(scopes[1]!), 1);
    t.is(await f.index.count(scopes[2]!), 2);
  } finally {
    close(f);
  }
});

test('invalid scopes are rejected before touching the database', async (t) => {
  const f = open();
  try {
    await t.throwsAsync(f.index.searchText({ tenantId: 'acme', userId: "x' OR 1=1" }, 'a', 5), {
      instanceOf: ValidationError,
    });
    await t.throwsAsync(f.index.upsert({ tenantId: 'a/b', userId: 'c' }, [doc('x', 'x', [1, 0, 0, 0])]), {
      instanceOf: ValidationError,
    });
  } finally {
    close(f);
  }
});

test('filters by kind, granularity and status, inside the KNN', async (t) => {
  const f = open();
  try {
    await f.index.upsert(A, [
      doc('fact', 'coffee fact', [1, 0, 0, 0]),
      doc('episode', 'coffee episode', [1, 0.2, 0, 0], { kind: 'episode', granularity: 'turn' }),
      doc('summary', 'coffee summary', [1, 0.4, 0, 0], { kind: 'summary', granularity: 'session' }),
      doc('quarantined', 'coffee quarantined', [1, 0.6, 0, 0], { status: 'quarantined' }),
      doc('invalidated', 'coffee invalidated', [1, 0.8, 0, 0], { status: 'invalidated' }),
    ]);
    const q = [1, 0, 0, 0];
    // Default: active only.
    t.deepEqual(ids(await f.index.searchDense(A, q, 10)), ['fact', 'episode', 'summary']);
    t.deepEqual(ids(await f.index.searchText(A, 'coffee', 10)).sort(), ['episode', 'fact', 'summary']);
    // k counts matching rows only: the nearest non-matching rows do not eat the budget.
    t.deepEqual(ids(await f.index.searchDense(A, q, 1, { kinds: ['summary'] })), ['summary']);
    t.deepEqual(ids(await f.index.searchDense(A, q, 1, { statuses: ['invalidated'] })), ['invalidated']);
    t.deepEqual(ids(await f.index.searchDense(A, q, 10, { kinds: ['episode', 'summary'] })), ['episode', 'summary']);
    t.deepEqual(ids(await f.index.searchDense(A, q, 10, { granularities: ['turn'] })), ['episode']);
    t.deepEqual(ids(await f.index.searchText(A, 'coffee', 10, { granularities: ['session'] })), ['summary']);
    t.deepEqual(
      ids(await f.index.searchDense(A, q, 10, { statuses: ['quarantined', 'invalidated'] })),
      ['quarantined', 'invalidated'],
    );
    t.deepEqual(ids(await f.index.searchText(A, 'coffee', 10, { statuses: ['quarantined'] })), ['quarantined']);
    // An empty list matches nothing; an unknown value is an error, not a silent miss.
    t.deepEqual(await f.index.searchDense(A, q, 10, { kinds: [] }), []);
    await t.throwsAsync(f.index.searchDense(A, q, 10, { kinds: ['bogus' as 'fact'] }), { instanceOf: ValidationError });
  } finally {
    close(f);
  }
});

test('validAt and knownAt filter on both time axes, open ends included', async (t) => {
  const f = open();
  try {
    await f.index.upsert(A, [
      // Lived in Paris from 100 to 500 (world time); learnt at 150, superseded at 600 (system time).
      doc('paris', 'lives in paris', [1, 0, 0, 0], { validFrom: 100, validTo: 500, recordedAt: 150, supersededAt: 600 }),
      // Lives in Rome since 500; learnt at 600; still current.
      doc('rome', 'lives in rome', [1, 0.1, 0, 0], { validFrom: 500, validTo: null, recordedAt: 600, supersededAt: null }),
    ]);
    const q = [1, 0, 0, 0];
    const dense = async (filter: object): Promise<string[]> => ids(await f.index.searchDense(A, q, 10, filter));
    const text = async (filter: object): Promise<string[]> => ids(await f.index.searchText(A, 'lives', 10, filter));
    for (const search of [dense, text]) {
      t.deepEqual(await search({ validAt: 99 }), []);
      t.deepEqual(await search({ validAt: 100 }), ['paris']);
      t.deepEqual(await search({ validAt: 499.5 }), ['paris']);
      t.deepEqual(await search({ validAt: 500 }), ['rome']);
      t.deepEqual(await search({ validAt: 1e13 }), ['rome']);
      t.deepEqual(await search({ knownAt: 149 }), []);
      t.deepEqual(await search({ knownAt: 150 }), ['paris']);
      t.deepEqual(await search({ knownAt: 599 }), ['paris']);
      t.deepEqual(await search({ knownAt: 600 }), ['rome']);
      // As known at 300: Paris was believed valid at 300 and Rome was not known yet.
      t.deepEqual(await search({ knownAt: 300, validAt: 300 }), ['paris']);
      // Known at 700 the Paris record is superseded, and Rome was not valid at 300.
      t.deepEqual(await search({ knownAt: 700, validAt: 300 }), []);
      t.deepEqual(await search({ knownAt: 300, validAt: 700 }), []);
    }
  } finally {
    close(f);
  }
});

test('setStatus changes lifecycle and validity; unknown ids are a no-op', async (t) => {
  const f = open();
  try {
    await f.index.upsert(A, [doc('m', 'tea drinker', [1, 0, 0, 0])]);
    await f.index.setStatus(A, 'm', 'invalidated', 300, 400);
    t.deepEqual(await f.index.searchDense(A, [1, 0, 0, 0], 5), []);
    t.deepEqual(await f.index.searchText(A, 'tea', 5), []);
    const all = { statuses: ['active', 'invalidated'] } as const;
    t.deepEqual(ids(await f.index.searchText(A, 'tea', 5, { ...all, validAt: 299 })), ['m']);
    t.deepEqual(await f.index.searchText(A, 'tea', 5, { ...all, validAt: 300 }), []);
    t.deepEqual(ids(await f.index.searchDense(A, [1, 0, 0, 0], 5, { ...all, knownAt: 399 })), ['m']);
    t.deepEqual(await f.index.searchDense(A, [1, 0, 0, 0], 5, { ...all, knownAt: 400 }), []);
    await f.index.setStatus(A, 'm', 'active', null, null);
    t.deepEqual(ids(await f.index.searchDense(A, [1, 0, 0, 0], 5, { validAt: 1e12, knownAt: 1e12 })), ['m']);
    await t.notThrowsAsync(f.index.setStatus(A, 'missing', 'invalidated', 1, 1));
    await t.throwsAsync(f.index.setStatus(A, 'm', 'gone' as 'active', null, null), { instanceOf: ValidationError });
  } finally {
    close(f);
  }
});

test('upsert replaces text, vector and metadata of an id', async (t) => {
  const f = open();
  try {
    await f.index.upsert(A, [doc('m', 'likes apples', [1, 0, 0, 0])]);
    await f.index.upsert(A, [doc('m', 'likes pears', [0, 1, 0, 0], { kind: 'preference' })]);
    t.is(await f.index.count(A), 1);
    t.deepEqual(await f.index.searchText(A, 'apples', 5), []);
    t.deepEqual(ids(await f.index.searchText(A, 'pears', 5, { kinds: ['preference'] })), ['m']);
    const [hit] = await f.index.searchDense(A, [0, 1, 0, 0], 5);
    t.is(hit?.id, 'm');
    t.true(Math.abs((hit?.score ?? 0) - 1) < 1e-6);
    // Same text, new vector: the keyword index keeps working.
    await f.index.upsert(A, [doc('m', 'likes pears', [0, 0, 1, 0])]);
    t.deepEqual(ids(await f.index.searchText(A, 'pears', 5)), ['m']);
    t.deepEqual(ids(await f.index.searchDense(A, [0, 0, 1, 0], 1)), ['m']);
  } finally {
    close(f);
  }
});

test('remove deletes from every table and leaves no text behind', async (t) => {
  const f = open();
  try {
    await f.index.upsert(A, [doc('gone', 'zanzibarian secret', [1, 0, 0, 0]), doc('kept', 'plain note', [0, 1, 0, 0])]);
    await f.index.remove(A, ['gone', 'never-there']);
    t.deepEqual(await f.index.searchText(A, 'zanzibarian', 5), []);
    t.deepEqual(ids(await f.index.searchDense(A, [1, 0, 0, 0], 5)), ['kept']);
    t.is(await f.index.count(A), 1);
    const tables = f.mdb.db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as { name: string }[];
    for (const { name } of tables) {
      for (const row of f.mdb.db.prepare(`SELECT * FROM "${name}"`).raw().all() as unknown[][]) {
        for (const cell of row) {
          const s = cell instanceof Uint8Array ? Buffer.from(cell).toString('latin1') : String(cell);
          t.false(s.includes('zanzibar'), `table ${name}`);
        }
      }
    }
    // Nor do the file's bytes: deleted pages are zeroed and the WAL is checkpointed.
    const bytes = Buffer.concat(fs.readdirSync(f.dir).map((file) => fs.readFileSync(path.join(f.dir, file))));
    t.true(bytes.includes('plain note'), 'the scan sees live data');
    t.false(bytes.includes('zanzibar'));
  } finally {
    close(f);
  }
});

test('documents persist across close and reopen; dimensions are fixed per file', async (t) => {
  const f = open();
  try {
    await f.index.upsert(A, [doc('m', 'persistent memory', [1, 0, 0, 0])]);
    f.mdb.close();
    const mdb = openMemoryDb(f.file, DIMS);
    f.mdb = mdb;
    const index = new SqliteVectorIndex(mdb);
    t.deepEqual(ids(await index.searchDense(A, [1, 0, 0, 0], 5)), ['m']);
    t.deepEqual(ids(await index.searchText(A, 'persistent', 5)), ['m']);
    mdb.close();
    t.throws(() => openMemoryDb(f.file, DIMS + 1), { instanceOf: ConfigError });
  } finally {
    close(f);
  }
});

test('a vector of the wrong dimension or with NaN is a ValidationError', async (t) => {
  const f = open();
  try {
    await t.throwsAsync(f.index.upsert(A, [doc('m', 'x', [1, 0, 0])]), { instanceOf: ValidationError });
    await t.throwsAsync(f.index.upsert(A, [doc('m', 'x', [1, 0, 0, NaN])]), { instanceOf: ValidationError });
    await t.throwsAsync(f.index.searchDense(A, [1, 0, 0, 0, 0], 5), { instanceOf: ValidationError });
    // A bad document fails the whole batch: nothing was written.
    await t.throwsAsync(f.index.upsert(A, [doc('ok', 'x', [1, 0, 0, 0]), doc('bad', 'x', [1])]), {
      instanceOf: ValidationError,
    });
    t.is(await f.index.count(A), 0);
  } finally {
    close(f);
  }
});

test('a zero vector is stored but similar to nothing', async (t) => {
  const f = open();
  try {
    await f.index.upsert(A, [doc('zero', 'empty', [0, 0, 0, 0]), doc('unit', 'unit', [1, 0, 0, 0])]);
    t.deepEqual(ids(await f.index.searchDense(A, [1, 0, 0, 0], 5)), ['unit']);
    t.deepEqual(await f.index.searchDense(A, [0, 0, 0, 0], 5), []);
  } finally {
    close(f);
  }
});

test('clear empties every scope and the index stays usable', async (t) => {
  const f = open();
  try {
    const B: Scope = { tenantId: 'other', userId: 'bob' };
    await f.index.upsert(A, [doc('a', 'alpha words', [1, 0, 0, 0])]);
    await f.index.upsert(B, [doc('b', 'beta words', [1, 0, 0, 0])]);
    await f.index.clear();
    t.is(await f.index.count(A), 0);
    t.deepEqual(await f.index.searchText(B, 'words', 5), []);
    t.deepEqual(await f.index.searchDense(B, [1, 0, 0, 0], 5), []);
    await f.index.upsert(A, [doc('a2', 'alpha again', [1, 0, 0, 0])]);
    t.deepEqual(ids(await f.index.searchText(A, 'alpha', 5)), ['a2']);
    t.deepEqual(ids(await f.index.searchDense(A, [1, 0, 0, 0], 5)), ['a2']);
  } finally {
    close(f);
  }
});

test('toFtsQuery quotes every word and ORs them; no words means no query', (t) => {
  t.is(toFtsQuery('Hello, "world"! NEAR(x*'), '"hello" OR "world" OR "near" OR "x"');
  t.is(toFtsQuery('héllo wörld'), '"héllo" OR "wörld"');
  t.is(toFtsQuery('a a A'), '"a"');
  t.is(toFtsQuery('"*:-()^'), null);
  t.is(toFtsQuery(''), null);
  t.is(toFtsQuery(Array.from({ length: 500 }, (_, i) => `w${i}`).join(' '))?.split(' OR ').length, 64);
});

test('keyword search never throws on hostile or random input (property)', async (t) => {
  const f = open();
  try {
    await f.index.upsert(A, [
      doc('m1', 'Alice said "NEAR" and col:on - * everywhere', [1, 0, 0, 0]),
      doc('m2', 'Ünïcödé text with émojis 🎉 and 数字', [0, 1, 0, 0]),
    ]);
    for (const q of HOSTILE) t.true(Array.isArray(await f.index.searchText(A, q, 5)), JSON.stringify(q));
    const token = fc.constantFrom('"', '*', 'NEAR(', 'NEAR', '-', ':', '(', ')', '^', 'AND', 'OR', 'NOT', '+', '{', '}', ' ', 'alice', 'text', '🎉');
    const hostile = fc.array(token, { maxLength: 12 }).map((parts) => parts.join(''));
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostile, fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 })), async (q) => {
        const hits = await f.index.searchText(A, q, 5);
        return Array.isArray(hits) && hits.every((h) => h.id === 'm1' || h.id === 'm2');
      }),
      { numRuns: 300, seed: 42 },
    );
    t.pass();
  } finally {
    close(f);
  }
});
