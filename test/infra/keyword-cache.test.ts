/**
 * The in-memory keyword index of large scopes: its tokenizer against FTS5's own, and its lists
 * against the FTS5 path's on the same index (single scope, so both use the same statistics) through
 * filters, granularities, updates, removals, compaction, other connections and rollbacks.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { GRANULARITIES, MEMORY_KINDS, type Granularity } from '../../core/model.js';
import type { ScoredId, SearchFilter, VectorDoc } from '../../core/ports.js';
import { seededRng, type Rng } from '../../core/random.js';
import type { Scope } from '../../core/scope.js';
import { ftsTokens, porterStem } from '../../infra/embedded/fts-tokenizer.js';
import { ScopeKeywords } from '../../infra/embedded/keyword-cache.js';
import { openMemoryDb, type MemoryDb } from '../../infra/embedded/memory-db.js';
import { SqliteVectorIndex } from '../../infra/embedded/vector-index.js';
import { vectorDocFixture as doc } from '../helpers/fixtures.js';

const A: Scope = { tenantId: 'acme', userId: 'alice' };
const B: Scope = { tenantId: 'acme', userId: 'bob' };

function tempDb(dims: number): { file: string; mdb: MemoryDb; done: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const file = path.join(dir, 'memory.db');
  const mdb = openMemoryDb(file, dims);
  return { file, mdb, done: () => (mdb.close(), fs.rmSync(dir, { recursive: true, force: true })) };
}

/** Words built to reach every rule of Porter's algorithm, plus case, diacritics and other scripts. */
function wordList(): string[] {
  const stems = ['cat', 'run', 'hop', 'fall', 'agree', 'plaster', 'bore', 'ring', 'sing', 'motor', 'conflat', 'siz', 'tann', 'fail', 'fil', 'generat', 'hope', 'happ', 'sky', 'relat', 'condition', 'rational', 'valen', 'hesit', 'digit', 'conform', 'radical', 'differen', 'analog', 'vile', 'formal', 'sensitiv', 'sensibil', 'triplic', 'electric', 'goodness', 'revival', 'allowan', 'inferen', 'airlin', 'gyroscop', 'adjust', 'depend', 'adopt', 'homolog', 'communis', 'activ', 'angular', 'effectiv', 'bowdler', 'probat', 'rate', 'cease', 'control', 'roll', 'y', 'by', 'ay', 'eye', 'tryst', 'syzygy', 'naïve', 'café', 'Éclair', 'straße', 'øre', 'İstanbul', '日本語', '데이터'];
  const suffixes = ['', 's', 'es', 'ies', 'sses', 'ss', 'ed', 'eed', 'ing', 'ly', 'y', 'ational', 'tional', 'enci', 'anci', 'izer', 'bli', 'alli', 'entli', 'eli', 'ousli', 'ization', 'ation', 'ator', 'alism', 'iveness', 'fulness', 'ousness', 'aliti', 'iviti', 'biliti', 'logi', 'icate', 'ative', 'alize', 'iciti', 'ical', 'ful', 'ness', 'al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent', 'sion', 'tion', 'ou', 'ism', 'ate', 'iti', 'ous', 'ive', 'ize', 'e', 'll', 'ings', 'ated', 'izing', 'fully'];
  const words = stems.flatMap((s) => suffixes.map((x) => s + x));
  words.push('Hello-World', "don't", 'e\u0301cole', 'x2', '42nd', '2010s', 'a0b', 'zero 0', 'ABCs', 'a', 'ab', 'Ⅻ', '\u0301start', 'mid\u0301dle', 'ｆｕｌｌ', 'ΣΊΣΥΦΟΣ', 'Ἀθῆναι', 'ÅNGSTRÖM', 'Æsir', 'œuvre', 'þorn', 'Ωmega');
  return words;
}

test('the tokenizer gives exactly the terms FTS5 indexes (porter unicode61 remove_diacritics 2)', (t) => {
  const db = new Database(':memory:');
  db.exec(`CREATE VIRTUAL TABLE f USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2');
           CREATE VIRTUAL TABLE v USING fts5vocab(f, 'instance');`);
  const words = wordList();
  const insert = db.prepare('INSERT INTO f(rowid, text) VALUES (?, ?)');
  words.forEach((w, i) => insert.run(i + 1, w));
  // Two long texts: one with non-ASCII characters, one of ASCII words and punctuation only (the
  // tokenizer scans ASCII text without its regular expression).
  const texts = [...words, words.join(' … '), words.filter((w) => /^[\x20-\x7e]*$/.test(w)).join(", it's-(x)_y; ")];
  texts.slice(words.length).forEach((text, i) => insert.run(words.length + 1 + i, text));
  const byDoc = new Map<number, string[]>();
  for (const r of db.prepare('SELECT term, doc FROM v ORDER BY doc, offset').all() as { term: string; doc: number }[]) {
    byDoc.set(r.doc, [...(byDoc.get(r.doc) ?? []), r.term]);
  }
  // The texts whose terms differ, cut short for the report.
  const differ = texts.flatMap((w, i) => ((byDoc.get(i + 1) ?? []).join('|') === ftsTokens(w).join('|') ? [] : [w.slice(0, 60)]));
  t.deepEqual(differ, []);
  t.is(porterStem('relational'), 'relat');
  t.is(porterStem('hopping'), 'hop');
  db.close();
});

/** A text of a few words from a small vocabulary (so words repeat across rows and scores tie). */
function text(rng: Rng, vocabulary: readonly string[]): string {
  const n = 1 + Math.floor(rng.next() * 9);
  return Array.from({ length: n }, () => vocabulary[Math.floor(rng.next() * vocabulary.length)]).join(rng.next() < 0.5 ? ' ' : ', ');
}

const VOCABULARY = ['Maya', 'coffee', 'hiking', 'hikes', 'hiked', 'Paris', 'sister', 'tea', 'works', 'working', 'office', 'café', 'dog', 'dogs', 'piano', 'lesson', 'lessons', 'moved', 'Berlin', 'loves', 'the', 'a'];

/** Searches both ways and checks the lists are the same (ids in order, scores to rounding). */
async function sameLists(t: ExecutionContext, cached: SqliteVectorIndex, fts: SqliteVectorIndex, query: string, k: number, filter?: SearchFilter): Promise<void> {
  const same = (a: readonly ScoredId[], b: readonly ScoredId[], label: string): void => {
    t.deepEqual(a.map((h) => h.id), b.map((h) => h.id), label);
    a.forEach((h, i) => t.true(Math.abs(h.score - (b[i] as ScoredId).score) <= 1e-9 * Math.abs(h.score), label));
  };
  same(await cached.searchText(A, query, k, filter), await fts.searchText(A, query, k, filter), `${query} ${JSON.stringify(filter)}`);
  const groups: Granularity[] = ['fact', 'turn'];
  const a = await cached.searchTextByGranularity(A, query, k, groups, filter);
  const b = await fts.searchTextByGranularity(A, query, k, groups, filter);
  for (const g of groups) same(a.get(g) ?? [], b.get(g) ?? [], `${query} by ${g}`);
}

test('in memory, keyword search gives the FTS5 lists through filters, updates, removals and compaction', async (t) => {
  const db = tempDb(4);
  try {
    const cached = new SqliteVectorIndex(db.mdb, { keywordCacheMin: 0 });
    const fts = new SqliteVectorIndex(db.mdb, { keywordCacheMin: Number.POSITIVE_INFINITY });
    const rng = seededRng(11);
    const current = new Map<number, VectorDoc>();
    const make = (i: number): VectorDoc => {
      const made = doc(`m${String(i).padStart(4, '0')}`, text(rng, VOCABULARY), [1, i, 0, 0], {
        granularity: GRANULARITIES[i % 3] as Granularity,
        kind: MEMORY_KINDS[i % MEMORY_KINDS.length],
        status: i % 9 === 0 ? 'invalidated' : 'active',
        validFrom: 100 + (i % 50),
        validTo: i % 4 === 0 ? 130 : null,
      });
      current.set(i, made);
      return made;
    };
    await cached.upsert(A, Array.from({ length: 600 }, (_, i) => make(i)));
    // Another scope's rows change neither lists nor, here, statistics (FTS5's are table-wide).
    const queries = ['coffee hiking', 'Maya', 'the sister in Paris', 'hike lessons', 'café', 'zebra', 'dog piano moved Berlin', 'WORKING office'];
    const filters: (SearchFilter | undefined)[] = [undefined, { statuses: ['active', 'invalidated'] }, { kinds: [MEMORY_KINDS[0]] }, { validAt: 140 }, { knownAt: 120 }];
    for (const q of queries) for (const f of filters) await sameLists(t, cached, fts, q, 15, f);
    // Updates (new text, same text, new granularity), status changes and removals, enough to compact.
    for (let round = 0; round < 3; round++) {
      const writes = Array.from({ length: 400 }, (_, j) => {
        const i = Math.floor(rng.next() * 700);
        const r = rng.next();
        if (r < 0.4) return { op: 'upsert' as const, scope: A, doc: make(i) };
        const was = current.get(i);
        // The same text in another granularity: only the granularity changes.
        if (r < 0.5 && was) return { op: 'upsert' as const, scope: A, doc: { ...was, granularity: GRANULARITIES[(j + 1) % 3] as Granularity } };
        if (r < 0.7) return { op: 'status' as const, scope: A, id: `m${String(i).padStart(4, '0')}`, status: 'invalidated' as const, validTo: 120 + j, supersededAt: null };
        return { op: 'remove' as const, scope: A, id: `m${String(i).padStart(4, '0')}` };
      });
      cached.applyWrites(writes);
      for (const q of queries) for (const f of filters.slice(0, 3)) await sameLists(t, cached, fts, q, 15, f);
    }
    await fts.upsert(B, [doc('b1', 'coffee coffee hiking', [1, 0, 0, 0])]);
    t.false((await cached.searchText(A, 'coffee', 1000)).some((h) => h.id === 'b1'));
  } finally {
    db.done();
  }
});

test('the in-memory keyword index follows writes of another connection and drops rolled-back ones', async (t) => {
  const db = tempDb(4);
  const other = openMemoryDb(db.file, 4);
  try {
    const index = new SqliteVectorIndex(db.mdb, { keywordCacheMin: 0 });
    const writer = new SqliteVectorIndex(other, { keywordCacheMin: 0 });
    await index.upsert(A, [doc('m1', 'coffee in Paris', [1, 0, 0, 0]), doc('m2', 'tea in Berlin', [0, 1, 0, 0])]);
    t.deepEqual((await index.searchText(A, 'coffee', 5)).map((h) => h.id), ['m1']);
    await writer.upsert(A, [doc('m2', 'coffee with my sister', [0, 1, 0, 0]), doc('m3', 'coffee again', [0, 0, 1, 0])]);
    t.deepEqual((await index.searchText(A, 'coffee', 5)).map((h) => h.id).sort(), ['m1', 'm2', 'm3']);
    t.deepEqual(await index.searchText(A, 'tea', 5), []);
    t.throws(() =>
      db.mdb.db.transaction(() => {
        index.applyWrites([{ op: 'upsert', scope: A, doc: doc('ghost', 'coffee ghost', [1, 1, 0, 0]) }, { op: 'remove', scope: A, id: 'm1' }]);
        throw new Error('the caller fails after the index wrote');
      })(),
    );
    t.deepEqual((await index.searchText(A, 'coffee', 5)).map((h) => h.id).sort(), ['m1', 'm2', 'm3']);
  } finally {
    other.close();
    db.done();
  }
});

test('ScopeKeywords: removed and replaced texts stop matching, the statistics follow, and compaction keeps every list', (t) => {
  const kw = new ScopeKeywords(1);
  const all = (): boolean => true;
  const one = [0, 0, 0];
  for (let i = 0; i < 3000; i++) kw.put(i, `m${i}`, i % 2 === 0 ? `even number ${i}` : `odd number ${i}`, i % 3);
  t.is(kw.size, 3000);
  const before = kw.search(['odd'], 5, one, all, false)[0] ?? [];
  t.is(before.length, 5);
  // Removing most odd rows compacts (more than a quarter of the slots die) and changes the IDF.
  for (let i = 1; i < 3000; i += 2) if (i > 20) kw.remove(i);
  for (let i = 0; i < 10; i++) kw.put(i * 2, `m${i * 2}`, 'now odd', 0);
  t.is(kw.size, 1500 + 10);
  const hits = kw.search(['odd'], 100, one, all, false)[0] ?? [];
  // The odd rows kept (1 … 19) and the even rows rewritten (0 … 18).
  t.deepEqual(hits.map((h) => h.docId).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
  t.deepEqual(kw.search(['even'], 5, one, (d) => d % 4 === 0, false)[0]?.every((h) => h.docId % 4 === 0), true);
  t.deepEqual(kw.search(['number'], 5, one, all, true)[0], [], 'a word in every row is dropped when asked');
});
