/**
 * The VectorIndex contract: what every adapter (embedded sqlite-vec + FTS5, cluster Qdrant) must
 * do alike. Each case opens a subject, uses its own tenants (adapters may share one store across
 * cases), and closes it. Cases are serial because `clear` empties every scope of a shared store.
 */
import type { ExecutionContext, TestFn } from 'ava';
import fc from 'fast-check';
import { ValidationError } from '../../core/errors.js';
import { MEMORY_STATUSES } from '../../core/model.js';
import type { ScoredId, SearchFilter, VectorDoc, VectorIndex } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import { vectorDocFixture } from '../helpers/fixtures.js';

/** What the contract needs from an adapter under test. */
export interface VectorIndexSubject {
  readonly index: VectorIndex & { clear(): Promise<void> | void };
  /** Dimensions of the index (at least 4). */
  readonly dims: number;
  close(): Promise<void>;
}

/** Query texts that are syntax in some search engine; they must be plain words (or nothing) here. */
export const HOSTILE_QUERIES: readonly string[] = [
  '"',
  '""',
  '*',
  'NEAR(',
  'NEAR(a b',
  '-',
  ':',
  'text:foo',
  'tenant:other',
  'a AND',
  'OR OR',
  'NOT',
  '(',
  ')',
  '^start',
  "'; DROP TABLE vec_docs; --",
  'hike*',
  '{text scope}: x',
  '{"must":[]}',
  '\u0000',
  '\uD800',
  '',
  '   ',
  'x'.repeat(10_000),
  Array.from({ length: 500 }, (_, i) => `w${i}`).join(' '),
];

const ALL_STATUSES = MEMORY_STATUSES;

/** Registers the contract cases on `test` (serially), titled `<name>: …`; `skip` registers them skipped. */
export function vectorIndexContract(
  test: TestFn,
  name: string,
  open: () => Promise<VectorIndexSubject>,
  opts: { readonly skip?: boolean } = {},
): void {
  type Body = (t: ExecutionContext, s: VectorIndexSubject, h: Helpers) => Promise<void>;
  const register = (title: string, body: Body): void => {
    const impl = async (t: ExecutionContext): Promise<void> => {
      const subject = await open();
      try {
        t.true(subject.dims >= 4, 'the contract needs at least 4 dimensions');
        await body(t, subject, helpers(subject));
      } finally {
        await subject.close();
      }
    };
    if (opts.skip === true) test.serial.skip(`${name}: ${title}`, impl);
    else test.serial(`${name}: ${title}`, impl);
  };

  register('upsert is idempotent and replaces text, vector and metadata', async (t, { index }, h) => {
    const S = scope('c-idem', 'u1');
    const m = h.doc('m', 'likes apples', h.e(0));
    await index.upsert(S, [m]);
    await index.upsert(S, [m]);
    await index.upsert(S, [m, m]);
    t.deepEqual(ids(await index.searchDense(S, h.e(0), 10)), ['m']);
    t.deepEqual(ids(await index.searchText(S, 'apples', 10)), ['m']);
    await index.upsert(S, [h.doc('m', 'likes pears', h.e(1), { kind: 'preference' })]);
    t.deepEqual(await index.searchText(S, 'apples', 10), []);
    t.deepEqual(ids(await index.searchText(S, 'pears', 10, { kinds: ['preference'] })), ['m']);
    t.deepEqual(await index.searchText(S, 'pears', 10, { kinds: ['fact'] }), []);
    const [hit, ...rest] = await index.searchDense(S, h.e(1), 10);
    t.is(hit?.id, 'm');
    t.true(Math.abs((hit?.score ?? 0) - 1) < 1e-4);
    t.deepEqual(rest, []);
    // Same text, new vector: keyword search keeps working.
    await index.upsert(S, [h.doc('m', 'likes pears', h.e(2))]);
    t.deepEqual(ids(await index.searchText(S, 'pears', 10)), ['m']);
    t.deepEqual(ids(await index.searchDense(S, h.e(2), 1)), ['m']);
  });

  register('tenants are isolated: same ids and texts elsewhere are never returned or touched', async (t, s, h) => {
    await isolation(t, s, h, scope('c-ten-a', 'same-user'), scope('c-ten-b', 'same-user'));
  });

  register('users are isolated within a tenant', async (t, s, h) => {
    await isolation(t, s, h, scope('c-usr', 'alice'), scope('c-usr', 'bob'));
  });

  register('filters by kind, granularity and status; active only by default', async (t, { index }, h) => {
    const S = scope('c-filter', 'u1');
    await index.upsert(S, [
      h.doc('fact', 'coffee fact', h.mix(1, 0)),
      h.doc('episode', 'coffee episode', h.mix(1, 0.2), { kind: 'episode', granularity: 'turn' }),
      h.doc('summary', 'coffee summary', h.mix(1, 0.4), { kind: 'summary', granularity: 'session' }),
      h.doc('quarantined', 'coffee quarantined', h.mix(1, 0.6), { status: 'quarantined' }),
      h.doc('invalidated', 'coffee invalidated', h.mix(1, 0.8), { status: 'invalidated' }),
    ]);
    const q = h.e(0);
    t.deepEqual(ids(await index.searchDense(S, q, 10)), ['fact', 'episode', 'summary']);
    t.deepEqual(sortedIds(await index.searchText(S, 'coffee', 10)), ['episode', 'fact', 'summary']);
    // k counts matching documents only: nearer documents that do not match do not eat the budget.
    t.deepEqual(ids(await index.searchDense(S, q, 1, { kinds: ['summary'] })), ['summary']);
    t.deepEqual(ids(await index.searchDense(S, q, 1, { statuses: ['invalidated'] })), ['invalidated']);
    t.deepEqual(ids(await index.searchDense(S, q, 10, { kinds: ['episode', 'summary'] })), ['episode', 'summary']);
    t.deepEqual(ids(await index.searchDense(S, q, 10, { granularities: ['turn'] })), ['episode']);
    t.deepEqual(ids(await index.searchText(S, 'coffee', 10, { granularities: ['session'] })), ['summary']);
    t.deepEqual(ids(await index.searchDense(S, q, 10, { statuses: ['quarantined', 'invalidated'] })), [
      'quarantined',
      'invalidated',
    ]);
    t.deepEqual(ids(await index.searchText(S, 'coffee', 10, { statuses: ['quarantined'] })), ['quarantined']);
    t.deepEqual(sortedIds(await index.searchText(S, 'coffee', 10, { statuses: [...ALL_STATUSES] })), [
      'episode',
      'fact',
      'invalidated',
      'quarantined',
      'summary',
    ]);
    t.deepEqual(
      ids(await index.searchDense(S, q, 10, { kinds: ['fact'], granularities: ['fact'], statuses: ['active'] })),
      ['fact'],
    );
    // An empty list matches nothing; an unknown value is an error, not a silent miss.
    t.deepEqual(await index.searchDense(S, q, 10, { kinds: [] }), []);
    t.deepEqual(await index.searchText(S, 'coffee', 10, { statuses: [] }), []);
    t.deepEqual(await index.searchText(S, 'coffee', 10, { granularities: [] }), []);
    await t.throwsAsync(index.searchDense(S, q, 10, { kinds: ['bogus' as 'fact'] }), { instanceOf: ValidationError });
    await t.throwsAsync(index.searchText(S, 'coffee', 10, { statuses: ['gone' as 'active'] }), {
      instanceOf: ValidationError,
    });
  });

  register('validAt and knownAt filter on both time axes, open ends included', async (t, { index }, h) => {
    const S = scope('c-asof', 'u1');
    await index.upsert(S, [
      // Lived in Paris from 100 to 500 (world time); learnt at 150, superseded at 600 (system time).
      h.doc('paris', 'lives in paris', h.mix(1, 0), { validFrom: 100, validTo: 500, recordedAt: 150, supersededAt: 600 }),
      // Lives in Rome since 500; learnt at 600; still current.
      h.doc('rome', 'lives in rome', h.mix(1, 0.1), { validFrom: 500, validTo: null, recordedAt: 600, supersededAt: null }),
    ]);
    const dense = async (f: SearchFilter): Promise<string[]> => ids(await index.searchDense(S, h.e(0), 10, f));
    const text = async (f: SearchFilter): Promise<string[]> => ids(await index.searchText(S, 'lives', 10, f));
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
      t.deepEqual(await search({ knownAt: 1e13 }), ['rome']);
      // As known at 300: Paris was believed valid at 300 and Rome was not known yet.
      t.deepEqual(await search({ knownAt: 300, validAt: 300 }), ['paris']);
      t.deepEqual(await search({ knownAt: 700, validAt: 300 }), []);
      t.deepEqual(await search({ knownAt: 300, validAt: 700 }), []);
    }
    await t.throwsAsync(index.searchDense(S, h.e(0), 10, { validAt: Number.NaN }), { instanceOf: ValidationError });
    await t.throwsAsync(index.searchText(S, 'lives', 10, { knownAt: Infinity }), { instanceOf: ValidationError });
  });

  register('setStatus changes lifecycle and validity; absent ids are a no-op', async (t, { index }, h) => {
    const S = scope('c-status', 'u1');
    await index.upsert(S, [h.doc('m', 'tea drinker', h.e(0)), h.doc('other', 'tea lover', h.e(1))]);
    await index.setStatus(S, 'm', 'invalidated', 300, 400);
    t.deepEqual(ids(await index.searchDense(S, h.e(0), 5)), ['other']);
    t.deepEqual(ids(await index.searchText(S, 'drinker', 5)), []);
    const all = { statuses: ['active', 'invalidated'] } as const;
    t.deepEqual(ids(await index.searchText(S, 'drinker', 5, { ...all, validAt: 299 })), ['m']);
    t.deepEqual(await index.searchText(S, 'drinker', 5, { ...all, validAt: 300 }), []);
    t.deepEqual(ids(await index.searchDense(S, h.e(0), 1, { ...all, knownAt: 399 })), ['m']);
    t.deepEqual(ids(await index.searchDense(S, h.e(0), 1, { ...all, knownAt: 400 })), ['other']);
    t.deepEqual(ids(await index.searchText(S, 'drinker', 5, { statuses: ['invalidated'] })), ['m']);
    await index.setStatus(S, 'm', 'active', null, null);
    t.deepEqual(ids(await index.searchDense(S, h.e(0), 1, { validAt: 1e12, knownAt: 1e12 })), ['m']);
    t.deepEqual(ids(await index.searchText(S, 'drinker', 5)), ['m']);
    await index.setStatus(S, 'm', 'quarantined', null, null);
    t.deepEqual(ids(await index.searchText(S, 'drinker', 5, { statuses: ['quarantined'] })), ['m']);
    await t.notThrowsAsync(index.setStatus(S, 'missing', 'invalidated', 1, 1));
    t.deepEqual(sortedIds(await index.searchText(S, 'tea', 5, { statuses: [...ALL_STATUSES] })), ['m', 'other']);
    await t.throwsAsync(index.setStatus(S, 'm', 'gone' as 'active', null, null), { instanceOf: ValidationError });
    await t.throwsAsync(index.setStatus(S, 'm', 'active', 1.5, null), { instanceOf: ValidationError });
  });

  register('remove deletes documents from both searches; unknown ids are ignored', async (t, { index }, h) => {
    const S = scope('c-remove', 'u1');
    await index.upsert(S, [
      h.doc('gone', 'zanzibarian secret', h.e(0)),
      h.doc('kept', 'plain note', h.e(1)),
      h.doc('gone2', 'another secret', h.e(2), { status: 'invalidated' }),
    ]);
    await index.remove(S, ['gone', 'never-there', 'gone2']);
    await index.remove(S, []);
    t.deepEqual(await index.searchText(S, 'zanzibarian secret', 5, { statuses: [...ALL_STATUSES] }), []);
    t.deepEqual(ids(await index.searchDense(S, h.e(0), 5, { statuses: [...ALL_STATUSES] })), ['kept']);
    t.deepEqual(ids(await index.searchText(S, 'note', 5)), ['kept']);
    // Removing twice is fine; re-adding works.
    await index.remove(S, ['gone']);
    await index.upsert(S, [h.doc('gone', 'zanzibarian again', h.e(0))]);
    t.deepEqual(ids(await index.searchText(S, 'zanzibarian', 5)), ['gone']);
  });

  register('keyword search: BM25 ranking, any-word matching, inflections, positive scores', async (t, { index }, h) => {
    const S = scope('c-bm25', 'u1');
    await index.upsert(S, [
      h.doc('all', 'Coffee and a croissant every morning in Paris', h.e(0)),
      h.doc('one', 'coffee is fine', h.e(0)),
      h.doc('none', 'tea lover since childhood', h.e(0)),
      h.doc('hiking', 'She hikes in the mountains every weekend', h.e(1)),
    ]);
    const hits = await index.searchText(S, 'paris COFFEE croissant', 10);
    t.deepEqual(ids(hits), ['all', 'one']);
    t.true(hits.every((x) => x.score > 0 && Number.isFinite(x.score)));
    t.true((hits[0]?.score ?? 0) > (hits[1]?.score ?? 0));
    t.deepEqual(ids(await index.searchText(S, 'paris coffee croissant', 1)), ['all']);
    t.deepEqual(sortedIds(await index.searchText(S, 'croissant tea', 10)), ['all', 'none']);
    // Both adapters stem (Porter): "hiking" finds "hikes", "mountain" finds "mountains".
    t.deepEqual(ids(await index.searchText(S, 'hiking', 10)), ['hiking']);
    t.deepEqual(ids(await index.searchText(S, 'Mountain!', 10)), ['hiking']);
    t.deepEqual(await index.searchText(S, 'zebra', 10), []);
    t.deepEqual(await index.searchText(S, 'coffee', 0), []);
    t.deepEqual(await index.searchText(S, 'coffee', -3), []);
    t.deepEqual(await index.searchText(S, 'coffee', Number.NaN), []);
    await t.throwsAsync(index.searchText(S, 42 as unknown as string, 10), { instanceOf: ValidationError });
  });

  register('hostile or random query text never throws and stays in scope', async (t, { index }, h) => {
    const S = scope('c-hostile', 'u1');
    const other = scope('c-hostile', 'u2');
    await index.upsert(S, [
      h.doc('m1', 'Alice said "NEAR" and col:on - * everywhere', h.e(0)),
      h.doc('m2', 'Ünïcödé text with émojis 🎉 and 数字', h.e(1)),
    ]);
    await index.upsert(other, [h.doc('x', 'text near alice everywhere tenant other', h.e(0))]);
    const mine = new Set(['m1', 'm2']);
    for (const q of HOSTILE_QUERIES) {
      const hits = await index.searchText(S, q, 5);
      t.true(Array.isArray(hits) && hits.every((x) => mine.has(x.id)), JSON.stringify(q.slice(0, 40)));
    }
    t.deepEqual(ids(await index.searchText(S, 'unicode', 5)), ['m2'], 'diacritics are folded');
    t.deepEqual(ids(await index.searchText(S, '数字', 5)), ['m2']);
    const token = fc.constantFrom('"', '*', 'NEAR(', '-', ':', '(', ')', '^', 'AND', 'OR', 'NOT', '{', '}', ' ', 'alice', 'text', '🎉');
    const hostile = fc.array(token, { maxLength: 12 }).map((parts) => parts.join(''));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostile, fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 })),
        async (q) => (await index.searchText(S, q, 5)).every((x) => mine.has(x.id)),
      ),
      { numRuns: 40, seed: 7 },
    );
  });

  register('dense search: nearest first, cosine scores, k bounds, zero vectors', async (t, { index }, h) => {
    const S = scope('c-dense', 'u1');
    await index.upsert(S, [
      h.doc('far', 'far', h.e(1)),
      h.doc('near', 'near', h.mix(1, 0.1)),
      h.doc('exact', 'exact', h.scale(h.e(0), 2)),
      h.doc('mid', 'mid', h.mix(1, 1)),
      h.doc('opposite', 'opposite', h.scale(h.e(0), -1)),
      h.doc('zero', 'zero', h.zero()),
    ]);
    const hits = await index.searchDense(S, h.e(0), 10);
    t.deepEqual(ids(hits), ['exact', 'near', 'mid', 'far', 'opposite']);
    const score = (id: string): number => hits.find((x) => x.id === id)?.score ?? Number.NaN;
    t.true(Math.abs(score('exact') - 1) < 1e-4);
    t.true(Math.abs(score('mid') - Math.SQRT1_2) < 1e-4);
    t.true(Math.abs(score('far')) < 1e-4);
    t.true(Math.abs(score('opposite') + 1) < 1e-4);
    t.deepEqual(ids(await index.searchDense(S, h.e(0), 2)), ['exact', 'near']);
    t.deepEqual(await index.searchDense(S, h.e(0), 0), []);
    t.deepEqual(await index.searchDense(S, h.e(0), Number.NaN), []);
    t.deepEqual(await index.searchDense(S, h.zero(), 5), []);
    // The zero-vector document is still found by its words.
    t.deepEqual(ids(await index.searchText(S, 'zero', 5)), ['zero']);
  });

  register('invalid scopes, vectors and documents are rejected before anything is written', async (t, { index, dims }, h) => {
    const S = scope('c-invalid', 'u1');
    const bad: Scope[] = [
      { tenantId: 'acme', userId: "x' OR 1=1" },
      { tenantId: 'a/b', userId: 'c' },
      { tenantId: '', userId: 'c' },
      { tenantId: 'x'.repeat(65), userId: 'c' },
    ];
    for (const b of bad) {
      await t.throwsAsync(index.searchText(b, 'a', 5), { instanceOf: ValidationError });
      await t.throwsAsync(index.searchDense(b, h.e(0), 5), { instanceOf: ValidationError });
      await t.throwsAsync(index.upsert(b, [h.doc('x', 'x', h.e(0))]), { instanceOf: ValidationError });
      await t.throwsAsync(index.remove(b, ['x']), { instanceOf: ValidationError });
      await t.throwsAsync(index.setStatus(b, 'x', 'active', null, null), { instanceOf: ValidationError });
    }
    const short = h.e(0).slice(0, dims - 1);
    await t.throwsAsync(index.upsert(S, [h.doc('m', 'x', short)]), { instanceOf: ValidationError });
    await t.throwsAsync(index.upsert(S, [h.doc('m', 'x', [...short, Number.NaN])]), { instanceOf: ValidationError });
    await t.throwsAsync(index.searchDense(S, [...h.e(0), 0], 5), { instanceOf: ValidationError });
    await t.throwsAsync(index.upsert(S, [h.doc('m', 'x', h.e(0), { kind: 'bogus' as 'fact' })]), {
      instanceOf: ValidationError,
    });
    await t.throwsAsync(index.upsert(S, [h.doc('m', 'x', h.e(0), { validFrom: 1.5 })]), { instanceOf: ValidationError });
    // A bad document fails the whole batch: nothing was written.
    await t.throwsAsync(index.upsert(S, [h.doc('ok', 'written', h.e(0)), h.doc('bad', 'x', [1])]), {
      instanceOf: ValidationError,
    });
    t.deepEqual(await index.searchText(S, 'written', 5), []);
    t.deepEqual(await index.searchDense(S, h.e(0), 5), []);
  });

  register('clear empties every scope and the index stays usable', async (t, { index }, h) => {
    const A = scope('c-clear-a', 'u1');
    const B = scope('c-clear-b', 'u2');
    await index.upsert(A, [h.doc('a', 'alpha words', h.e(0))]);
    await index.upsert(B, [h.doc('b', 'beta words', h.e(0), { status: 'invalidated' })]);
    await index.clear();
    t.deepEqual(await index.searchText(A, 'alpha', 5), []);
    t.deepEqual(await index.searchText(B, 'words', 5, { statuses: [...ALL_STATUSES] }), []);
    t.deepEqual(await index.searchDense(B, h.e(0), 5, { statuses: [...ALL_STATUSES] }), []);
    await index.upsert(A, [h.doc('a2', 'alpha again', h.e(0))]);
    t.deepEqual(ids(await index.searchText(A, 'alpha', 5)), ['a2']);
    t.deepEqual(ids(await index.searchDense(A, h.e(0), 5)), ['a2']);
  });
}

/** Two scopes hold the same ids and overlapping texts; reads and writes in one never reach the other. */
async function isolation(t: ExecutionContext, { index }: VectorIndexSubject, h: Helpers, A: Scope, B: Scope): Promise<void> {
  await index.upsert(A, [h.doc('x', 'shared words alpha', h.e(0)), h.doc('a-only', 'alpha only', h.e(2))]);
  await index.upsert(B, [h.doc('x', 'shared words beta', h.e(1)), h.doc('b-only', 'beta only', h.e(3))]);
  const all = { statuses: [...ALL_STATUSES] };
  // B's `x` did not overwrite A's: A's `x` is still orthogonal to B's vector and has A's words.
  const dense = await index.searchDense(A, h.e(1), 10, all);
  t.deepEqual(sortedIds(dense), ['a-only', 'x']);
  t.true(Math.abs(dense.find((x) => x.id === 'x')?.score ?? 1) < 1e-4);
  t.deepEqual(ids(await index.searchDense(A, h.e(0), 1)), ['x']);
  t.deepEqual(await index.searchText(A, 'beta', 10, all), []);
  t.deepEqual(sortedIds(await index.searchText(A, 'alpha', 10)), ['a-only', 'x']);
  t.deepEqual(ids(await index.searchText(A, 'shared', 10)), ['x']);
  for (const q of ['only', 'shared words alpha beta', 'x a-only b-only', ...HOSTILE_QUERIES.slice(0, 12)]) {
    t.true(ids(await index.searchText(B, q, 10, all)).every((id) => id === 'x' || id === 'b-only'), q);
  }
  // Writes in A naming B's ids leave B alone.
  await index.setStatus(A, 'b-only', 'invalidated', 1, 1);
  await index.remove(A, ['b-only']);
  t.deepEqual(ids(await index.searchText(B, 'only', 10)), ['b-only']);
  await index.remove(A, ['x']);
  t.deepEqual(await index.searchText(A, 'shared', 10, all), []);
  t.deepEqual(ids(await index.searchText(B, 'shared', 10)), ['x']);
  t.deepEqual(ids(await index.searchDense(B, h.e(1), 1)), ['x']);
  await index.setStatus(B, 'x', 'invalidated', 5, 5);
  t.deepEqual(ids(await index.searchText(A, 'alpha', 10)), ['a-only']);
  t.deepEqual(await index.searchText(B, 'shared', 10), []);
}

interface Helpers {
  /** A document with defaults: active fact, valid and known from t=100 on. */
  doc(id: string, text: string, embedding: number[], over?: Partial<VectorDoc>): VectorDoc;
  /** The i-th unit vector. */
  e(i: number): number[];
  /** x·e0 + y·e1. */
  mix(x: number, y: number): number[];
  scale(v: number[], by: number): number[];
  zero(): number[];
}

function helpers({ dims }: VectorIndexSubject): Helpers {
  const zero = (): number[] => new Array<number>(dims).fill(0);
  const e = (i: number): number[] => {
    const v = zero();
    v[i] = 1;
    return v;
  };
  return {
    doc: vectorDocFixture,
    e,
    mix: (x, y) => {
      const v = zero();
      v[0] = x;
      v[1] = y;
      return v;
    },
    scale: (v, by) => v.map((x) => x * by),
    zero,
  };
}

function scope(tenantId: string, userId: string): Scope {
  return { tenantId, userId };
}

function ids(rows: readonly ScoredId[]): string[] {
  return rows.map((r) => r.id);
}

function sortedIds(rows: readonly ScoredId[]): string[] {
  return ids(rows).sort();
}
