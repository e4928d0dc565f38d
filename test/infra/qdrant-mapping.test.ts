/**
 * The Qdrant adapter without a Qdrant server: the pure mappings (collection names, point ids,
 * payloads, filters, BM25 sparse vectors, error classes), and the requests the adapter sends,
 * recorded by a fake HTTP server on localhost that answers like Qdrant's REST API.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import fc from 'fast-check';
import {
  QdrantClientTimeoutError,
  QdrantClientUnexpectedResponseError,
} from '@qdrant/js-client-rest';
import { ConfigError, StorageError, ValidationError } from '../../core/errors.js';
import type { SearchFilter, VectorDoc } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import {
  BM25_AVG_DOC_LEN,
  BM25_B,
  BM25_K1,
  MAX_QUERY_TERMS,
  bm25Weight,
  documentVector,
  porterStem,
  queryVector,
  termIndex,
  tokenize,
} from '../../infra/cluster/bm25-sparse.js';
import { QdrantCheckpointStore, checkpointPointId } from '../../infra/cluster/qdrant-checkpoints.js';
import {
  OPEN_END,
  decodeEnd,
  encodeEnd,
  payloadOf,
  scopedIdsFilter,
  searchFilterOf,
  statusPayloadOf,
} from '../../infra/cluster/qdrant-filter.js';
import {
  MEMORY_PAYLOAD_INDEXES,
  QdrantVectorIndex,
  collectionNameOf,
  memoryCollectionConfig,
  pointIdOf,
  pointOf,
  qdrantError,
} from '../../infra/cluster/qdrant-vector-index.js';
import { HOSTILE_QUERIES } from '../contracts/vector-index.contract.js';

const A: Scope = { tenantId: 'acme', userId: 'alice' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function doc(over: Partial<VectorDoc> = {}): VectorDoc {
  return {
    id: 'm1',
    text: 'Alice loves hiking',
    embedding: [1, 0, 0, 0],
    kind: 'fact',
    granularity: 'fact',
    status: 'active',
    validFrom: 100,
    validTo: null,
    recordedAt: 150,
    supersededAt: null,
    ...over,
  };
}

// ---------------------------------------------------------------- names and ids

test('collection names: one per model and dimension, [a-z0-9_] only, model id is never trusted', (t) => {
  t.is(collectionNameOf('use-lite', 512), 'engram_memories_use_lite_512');
  t.is(collectionNameOf('Xenova/all-MiniLM-L6-v2', 384), 'engram_memories_xenova_all_minilm_l6_v2_384');
  t.is(collectionNameOf('text-embedding-3-small', 1536), 'engram_memories_text_embedding_3_small_1536');
  t.not(collectionNameOf('use-lite', 512), collectionNameOf('use-lite', 256));
  t.regex(collectionNameOf('../../etc?x=1&y', 8), /^engram_memories_etc_x_1_y_8$/);
  t.regex(collectionNameOf('///', 8), /^engram_memories_m[0-9a-f]{12}_8$/);
  const long = collectionNameOf('m'.repeat(500), 8);
  t.true(long.length <= 'engram_memories_'.length + 64 + 2);
  t.not(long, collectionNameOf(`${'m'.repeat(499)}n`, 8), 'truncated names keep a hash of the whole id');
  t.throws(() => collectionNameOf('', 8), { instanceOf: ConfigError });
  t.throws(() => collectionNameOf('m', 0), { instanceOf: ValidationError });
  t.throws(() => collectionNameOf('m', 1.5), { instanceOf: ValidationError });
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 200 }).filter((s) => s.trim() !== ''), fc.integer({ min: 1, max: 65_536 }), (m, d) =>
      /^engram_memories_[a-z0-9_]+_\d+$/.test(collectionNameOf(m, d)),
    ),
    { seed: 1, numRuns: 200 },
  );
});

test('point ids are deterministic UUIDs scoped by tenant, user and memory id', (t) => {
  const id = pointIdOf(A, 'm1');
  t.regex(id, UUID);
  t.is(pointIdOf(A, 'm1'), id);
  t.not(pointIdOf({ tenantId: 'acme', userId: 'bob' }, 'm1'), id);
  t.not(pointIdOf({ tenantId: 'other', userId: 'alice' }, 'm1'), id);
  t.not(pointIdOf(A, 'm2'), id);
  t.regex(checkpointPointId('vector-index', 'memory-events', 3), UUID);
  t.not(checkpointPointId('vector-index', 'memory-events', 3), checkpointPointId('vector-index', 'memory-events', 4));
});

test('collection config: named cosine vector "dense" and sparse "bm25" with server-side IDF', (t) => {
  t.deepEqual(memoryCollectionConfig(8), {
    vectors: { dense: { size: 8, distance: 'Cosine' } },
    sparse_vectors: { bm25: { modifier: 'idf' } },
  });
  const byField = Object.fromEntries(MEMORY_PAYLOAD_INDEXES.map((i) => [i.field, i.schema]));
  t.deepEqual(byField.tenant, { type: 'keyword', is_tenant: true });
  for (const f of ['user', 'kind', 'granularity', 'status']) t.is(byField[f], 'keyword', f);
  for (const f of ['validFrom', 'validTo', 'recordedAt', 'supersededAt']) t.is(byField[f], 'integer', f);
  t.like(byField.text as object, { type: 'text' });
});

// ---------------------------------------------------------------- payload

test('payload of a document: scope, metadata, open ends as OPEN_END', (t) => {
  t.deepEqual(payloadOf(A, doc()), {
    memoryId: 'm1',
    tenant: 'acme',
    user: 'alice',
    text: 'Alice loves hiking',
    kind: 'fact',
    granularity: 'fact',
    status: 'active',
    validFrom: 100,
    validTo: OPEN_END,
    recordedAt: 150,
    supersededAt: OPEN_END,
  });
  t.like(payloadOf(A, doc({ validTo: 500, supersededAt: 600 })), { validTo: 500, supersededAt: 600 });
  t.is(OPEN_END, Number.MAX_SAFE_INTEGER);
  t.is(encodeEnd(null), OPEN_END);
  t.is(decodeEnd(encodeEnd(null)), null);
  t.is(decodeEnd(encodeEnd(42)), 42);
  t.deepEqual(statusPayloadOf('invalidated', 300, null), { status: 'invalidated', validTo: 300, supersededAt: OPEN_END });
  t.throws(() => statusPayloadOf('gone' as 'active', null, null), { instanceOf: ValidationError });
  t.throws(() => statusPayloadOf('active', 1.5, null), { instanceOf: ValidationError });
  t.throws(() => payloadOf(A, doc({ kind: 'bogus' as 'fact' })), { instanceOf: ValidationError });
  t.throws(() => payloadOf(A, doc({ id: '' })), { instanceOf: ValidationError });
  t.throws(() => payloadOf(A, doc({ recordedAt: Number.NaN })), { instanceOf: ValidationError });
  t.throws(() => payloadOf({ tenantId: 'a b', userId: 'c' }, doc()), { instanceOf: ValidationError });
});

test('point of a document: zero embeddings get no dense vector, wordless texts no sparse vector', (t) => {
  const p = pointOf(A, doc());
  t.is(p.id, pointIdOf(A, 'm1'));
  const v = p.vector as Record<string, unknown>;
  t.deepEqual(v.dense, [1, 0, 0, 0]);
  t.deepEqual(v.bm25, documentVector('Alice loves hiking'));
  t.like(p.payload as object, { memoryId: 'm1', tenant: 'acme', user: 'alice' });
  t.deepEqual(Object.keys(pointOf(A, doc({ embedding: [0, 0, 0, 0] })).vector), ['bm25']);
  t.deepEqual(Object.keys(pointOf(A, doc({ text: ' -- !! ' })).vector), ['dense']);
});

// ---------------------------------------------------------------- filters

test('search filter: scope first, active only by default', (t) => {
  t.deepEqual(searchFilterOf(A), {
    must: [
      { key: 'tenant', match: { value: 'acme' } },
      { key: 'user', match: { value: 'alice' } },
      { key: 'status', match: { any: ['active'] } },
    ],
  });
});

test('search filter: every SearchFilter field', (t) => {
  const f = searchFilterOf(A, {
    kinds: ['fact', 'episode', 'fact'],
    granularities: ['turn'],
    statuses: ['active', 'invalidated'],
    validAt: 499.7,
    knownAt: 600,
  });
  t.deepEqual(f, {
    must: [
      { key: 'tenant', match: { value: 'acme' } },
      { key: 'user', match: { value: 'alice' } },
      { key: 'status', match: { any: ['active', 'invalidated'] } },
      { key: 'kind', match: { any: ['fact', 'episode'] } },
      { key: 'granularity', match: { any: ['turn'] } },
      { key: 'validFrom', range: { lte: 499 } },
      { key: 'validTo', range: { gt: 499 } },
      { key: 'recordedAt', range: { lte: 600 } },
      { key: 'supersededAt', range: { gt: 600 } },
    ],
  });
  // Negative (pre-1970) instants floor downwards, like the embedded index's integer comparison.
  t.deepEqual((searchFilterOf(A, { validAt: -1.5 })?.must as unknown[])?.slice(-2), [
    { key: 'validFrom', range: { lte: -2 } },
    { key: 'validTo', range: { gt: -2 } },
  ]);
});

test('search filter: empty lists match nothing, unknown values and bad instants are errors', (t) => {
  t.is(searchFilterOf(A, { kinds: [] }), null);
  t.is(searchFilterOf(A, { granularities: [] }), null);
  t.is(searchFilterOf(A, { statuses: [] }), null);
  t.throws(() => searchFilterOf(A, { kinds: ['bogus' as 'fact'] }), { instanceOf: ValidationError });
  t.throws(() => searchFilterOf(A, { granularities: ['day' as 'turn'] }), { instanceOf: ValidationError });
  t.throws(() => searchFilterOf(A, { statuses: ['gone' as 'active'] }), { instanceOf: ValidationError });
  t.throws(() => searchFilterOf(A, { validAt: Number.NaN }), { instanceOf: ValidationError });
  t.throws(() => searchFilterOf(A, { knownAt: Infinity }), { instanceOf: ValidationError });
  t.throws(() => searchFilterOf(A, { knownAt: 1e300 }), { instanceOf: ValidationError });
  t.throws(() => searchFilterOf({ tenantId: 'acme', userId: "x' OR 1=1" }), { instanceOf: ValidationError });
  t.throws(() => searchFilterOf({ tenantId: '', userId: 'x' }), { instanceOf: ValidationError });
});

test('every filter, whatever the SearchFilter, is pinned to the scope (property)', (t) => {
  const filterArb: fc.Arbitrary<SearchFilter> = fc.record(
    {
      kinds: fc.subarray(['fact', 'preference', 'event', 'episode', 'summary', 'lesson'] as const),
      granularities: fc.subarray(['turn', 'session', 'fact'] as const),
      statuses: fc.subarray(['active', 'invalidated', 'quarantined', 'forgotten', 'rejected'] as const),
      validAt: fc.double({ min: -1e15, max: 1e15, noNaN: true }),
      knownAt: fc.integer(),
    },
    { requiredKeys: [] },
  );
  const idArb = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
  fc.assert(
    fc.property(idArb, idArb, filterArb, (tenantId, userId, filter) => {
      const f = searchFilterOf({ tenantId, userId }, filter);
      if (f === null) return [filter.kinds, filter.granularities, filter.statuses].some((l) => l?.length === 0);
      const must = f.must as unknown[];
      return (
        JSON.stringify(must[0]) === JSON.stringify({ key: 'tenant', match: { value: tenantId } }) &&
        JSON.stringify(must[1]) === JSON.stringify({ key: 'user', match: { value: userId } })
      );
    }),
    { seed: 3, numRuns: 300 },
  );
  t.deepEqual(scopedIdsFilter(A, ['p1', 'p2']), {
    must: [{ key: 'tenant', match: { value: 'acme' } }, { key: 'user', match: { value: 'alice' } }, { has_id: ['p1', 'p2'] }],
  });
});

// ---------------------------------------------------------------- BM25 sparse vectors

test('term indices are FNV-1a 32-bit hashes of the UTF-8 bytes (stable across runs)', (t) => {
  t.is(termIndex(''), 0x811c9dc5);
  t.is(termIndex('a'), 0xe40c292c);
  t.is(termIndex('foobar'), 0xbf9cf968);
  t.is(termIndex('数字'), termIndex('数字'));
  for (const w of ['hike', 'paris', 'é', '🎉']) {
    const i = termIndex(w);
    t.true(Number.isInteger(i) && i >= 0 && i <= 0xffffffff, w);
  }
});

test('tokenize: Unicode words, lower case, Latin diacritics folded, Porter stems', (t) => {
  t.deepEqual(tokenize('Alice LOVES hiking; she hikes!'), ['alic', 'love', 'hike', 'she', 'hike']);
  t.deepEqual(tokenize('Ünïcödé café'), ['unicod', 'cafe']);
  t.deepEqual(tokenize('数字 and ４２'), ['数字', 'and', '42']);
  t.deepEqual(tokenize('"*:-()^ NEAR('), ['near']);
  t.deepEqual(tokenize(''), []);
  t.deepEqual(tokenize(42 as unknown as string), []);
});

test('porter stemmer matches the reference vocabulary', (t) => {
  const cases: Record<string, string> = {
    caresses: 'caress', ponies: 'poni', ties: 'ti', caress: 'caress', cats: 'cat',
    feed: 'feed', agreed: 'agre', plastered: 'plaster', bled: 'bled', motoring: 'motor', sing: 'sing',
    conflated: 'conflat', troubled: 'troubl', sized: 'size', hopping: 'hop', tanned: 'tan', falling: 'fall',
    hissing: 'hiss', fizzed: 'fizz', failing: 'fail', filing: 'file', happy: 'happi', sky: 'sky',
    relational: 'relat', conditional: 'condit', rational: 'ration', valenci: 'valenc', hesitanci: 'hesit',
    digitizer: 'digit', conformabli: 'conform', radicalli: 'radic', differentli: 'differ', vileli: 'vile',
    analogousli: 'analog', vietnamization: 'vietnam', predication: 'predic', operator: 'oper',
    feudalism: 'feudal', decisiveness: 'decis', hopefulness: 'hope', callousness: 'callous',
    formaliti: 'formal', sensitiviti: 'sensit', sensibiliti: 'sensibl', triplicate: 'triplic',
    formative: 'form', formalize: 'formal', electriciti: 'electr', electrical: 'electr', hopeful: 'hope',
    goodness: 'good', revival: 'reviv', allowance: 'allow', inference: 'infer', airliner: 'airlin',
    gyroscopic: 'gyroscop', adjustable: 'adjust', defensible: 'defens', irritant: 'irrit',
    replacement: 'replac', adjustment: 'adjust', dependent: 'depend', adoption: 'adopt', homologou: 'homolog',
    communism: 'commun', activate: 'activ', angulariti: 'angular', homologous: 'homolog', effective: 'effect',
    bowdlerize: 'bowdler', probate: 'probat', rate: 'rate', cease: 'ceas', controll: 'control', roll: 'roll',
    generalizations: 'gener', oscillators: 'oscil', hiking: 'hike', hikes: 'hike', mountains: 'mountain',
    is: 'is', a: 'a', x42: 'x42', 'café': 'café',
  };
  for (const [word, stem] of Object.entries(cases)) t.is(porterStem(word), stem, word);
});

test('document vectors carry BM25 term-frequency saturation; indices sorted and distinct', (t) => {
  t.is(BM25_K1, 1.2);
  t.is(BM25_B, 0.75);
  t.is(BM25_AVG_DOC_LEN, 24);
  const v = documentVector('Coffee, coffee and more coffee');
  t.is(v.indices.length, 3);
  t.deepEqual(v.indices, [...v.indices].sort((a, b) => a - b));
  const weightOf = (term: string): number => v.values[v.indices.indexOf(termIndex(term))] ?? Number.NaN;
  const expected = (tf: number, len: number): number => (tf * 2.2) / (tf + 1.2 * (1 - 0.75 + (0.75 * len) / 24));
  t.true(Math.abs(weightOf('coffe') - expected(3, 5)) < 1e-12);
  t.true(Math.abs(weightOf('and') - expected(1, 5)) < 1e-12);
  t.is(bm25Weight(3, 5), expected(3, 5));
  // Saturation: more occurrences weigh more, but never past k1 + 1; longer documents weigh less.
  t.true(bm25Weight(2, 10) > bm25Weight(1, 10));
  t.true(bm25Weight(1000, 10) < BM25_K1 + 1);
  t.true(bm25Weight(1, 100) < bm25Weight(1, 10));
  t.deepEqual(documentVector(''), { indices: [], values: [] });
  t.deepEqual(documentVector('Coffee, coffee and more coffee'), v, 'deterministic');
});

test('query vectors: distinct terms with weight 1, at most 64, null without words', (t) => {
  const q = queryVector('Hiking hikes HIKE paris');
  t.deepEqual(q, { indices: [termIndex('hike'), termIndex('pari')].sort((a, b) => a - b), values: [1, 1] });
  t.is(queryVector(Array.from({ length: 500 }, (_, i) => `w${i}`).join(' '))?.indices.length, MAX_QUERY_TERMS);
  for (const h of ['', '   ', '"*:-()^', '\u0000', '\uD800', '!!!']) t.is(queryVector(h), null, JSON.stringify(h));
  for (const h of HOSTILE_QUERIES) {
    const v = queryVector(h);
    t.true(v === null || (v.indices.length > 0 && v.values.every((x) => x === 1)));
  }
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 })), (s) => {
      const v = queryVector(s);
      const d = documentVector(s);
      const okIndices = (xs: readonly number[]): boolean =>
        xs.every((i, n) => Number.isInteger(i) && i >= 0 && i <= 0xffffffff && (n === 0 || i > (xs[n - 1] ?? -1)));
      return (
        (v === null ? d.indices.length === 0 : okIndices(v.indices)) &&
        okIndices(d.indices) &&
        d.values.every((x) => Number.isFinite(x) && x > 0)
      );
    }),
    { seed: 5, numRuns: 300 },
  );
});

// ---------------------------------------------------------------- errors

test('errors: 5xx, 408, 429, timeouts and network failures are retriable; other 4xx are not', (t) => {
  const apiError = (status: number, error?: string): Error =>
    Object.assign(new Error('x'), { status, data: error === undefined ? undefined : { status: { error } } });
  const e503 = qdrantError(apiError(503), 'search');
  t.true(e503 instanceof StorageError);
  t.true(e503.retriable);
  t.like(e503.details, { status: 503, op: 'search' });
  for (const s of [500, 502, 408, 429]) t.true(qdrantError(apiError(s), 'x').retriable, String(s));
  const e400 = qdrantError(apiError(400, 'Wrong input: bad filter'), 'search');
  t.false(e400.retriable);
  t.regex(e400.message, /HTTP 400: Wrong input: bad filter/);
  for (const s of [401, 403, 404, 409, 422]) t.false(qdrantError(apiError(s), 'x').retriable, String(s));
  t.true(qdrantError(new QdrantClientTimeoutError('aborted'), 'x').retriable);
  const refused = qdrantError(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }), 'x');
  t.true(refused.retriable);
  t.regex(refused.message, /ECONNREFUSED/);
  t.false(qdrantError(new QdrantClientUnexpectedResponseError('Unexpected Response: 404 (Not Found)'), 'x').retriable);
  const v = new ValidationError('bad');
  t.is(qdrantError(v, 'x'), v);
});

// ---------------------------------------------------------------- wire, against a recording fake

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}
type Reply = { status: number; result?: unknown; error?: string } | 'hang';

/** A localhost HTTP server answering like Qdrant's REST API; records every request. */
async function fakeQdrant(route: (req: Recorded) => Reply): Promise<{ url: string; requests: Recorded[]; close(): Promise<void> }> {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const rec = { method: req.method ?? '', path: req.url ?? '', body: text === '' ? null : (JSON.parse(text) as unknown) };
      requests.push(rec);
      const reply = route(rec);
      if (reply === 'hang') return;
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          reply.status < 300
            ? { result: reply.result ?? null, status: 'ok', time: 0 }
            : { status: { error: reply.error ?? 'failed' }, time: 0 },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const COLLECTION = 'engram_memories_test_model_4';

function collectionInfo(over: { dims?: number; schema?: Record<string, unknown>; sparse?: unknown } = {}): unknown {
  return {
    status: 'green',
    optimizer_status: 'ok',
    segments_count: 1,
    config: {
      params: {
        vectors: { dense: { size: over.dims ?? 4, distance: 'Cosine' } },
        sparse_vectors: over.sparse === undefined ? { bm25: { modifier: 'idf' } } : over.sparse,
      },
    },
    payload_schema: over.schema ?? {},
  };
}

/** Routes of a fake Qdrant holding the memory collection (`exists` decides the first answer). */
function qdrantRoutes(state: { exists: boolean; createStatus?: number; points?: unknown[] }): (r: Recorded) => Reply {
  return (r) => {
    const p = r.path.split('?')[0] ?? '';
    if (r.method === 'GET' && p.endsWith('/exists')) return { status: 200, result: { exists: state.exists } };
    if (r.method === 'PUT' && p === `/collections/${COLLECTION}`) {
      if (state.createStatus !== undefined) {
        state.exists = true; // someone else won the race
        return { status: state.createStatus, error: 'Collection already exists!' };
      }
      state.exists = true;
      return { status: 200, result: true };
    }
    if (r.method === 'GET' && p === `/collections/${COLLECTION}`) return { status: 200, result: collectionInfo() };
    if (r.method === 'DELETE' && p === `/collections/${COLLECTION}`) {
      const existed = state.exists;
      state.exists = false;
      return existed ? { status: 200, result: true } : { status: 404, error: 'Not found: Collection does not exist' };
    }
    if (r.method === 'POST' && p.endsWith('/points/query')) return { status: 200, result: { points: state.points ?? [] } };
    return { status: 200, result: { operation_id: 1, status: 'completed' } };
  };
}

test.serial('open creates the collection, its vectors and every payload index', async (t) => {
  const fake = await fakeQdrant(qdrantRoutes({ exists: false }));
  try {
    const index = await QdrantVectorIndex.open({ url: fake.url, modelId: 'Test-Model', dimensions: 4, timeoutMs: 2000 });
    t.is(index.collection, COLLECTION);
    t.true(index.created);
    const create = fake.requests.find((r) => r.method === 'PUT' && r.path.startsWith(`/collections/${COLLECTION}`));
    t.like(create?.body as object, memoryCollectionConfig(4) as object);
    const indexes = fake.requests.filter((r) => r.path.startsWith(`/collections/${COLLECTION}/index`));
    t.deepEqual(
      indexes.map((r) => r.body),
      MEMORY_PAYLOAD_INDEXES.map((i) => ({ field_name: i.field, field_schema: i.schema })),
    );
    t.true(indexes.every((r) => r.method === 'PUT' && r.path.includes('wait=true')));
  } finally {
    await fake.close();
  }
});

test.serial('open tolerates losing a create race and skips indexes that exist', async (t) => {
  const routes = qdrantRoutes({ exists: false, createStatus: 409 });
  const fake = await fakeQdrant((r) =>
    r.method === 'GET' && r.path === `/collections/${COLLECTION}`
      ? { status: 200, result: collectionInfo({ schema: { tenant: { data_type: 'keyword', points: 0 } } }) }
      : routes(r),
  );
  try {
    const index = await QdrantVectorIndex.open({ url: fake.url, modelId: 'test-model', dimensions: 4, timeoutMs: 2000 });
    t.false(index.created, 'the race winner created it');
    const fields = fake.requests.filter((r) => r.path.includes('/index')).map((r) => (r.body as { field_name: string }).field_name);
    t.false(fields.includes('tenant'));
    t.is(fields.length, MEMORY_PAYLOAD_INDEXES.length - 1);
  } finally {
    await fake.close();
  }
});

test.serial('open refuses a collection made with other vectors', async (t) => {
  for (const info of [collectionInfo({ dims: 8 }), collectionInfo({ sparse: { bm25: {} } }), collectionInfo({ sparse: {} })]) {
    const fake = await fakeQdrant((r) =>
      r.method === 'GET' && r.path === `/collections/${COLLECTION}` ? { status: 200, result: info } : qdrantRoutes({ exists: true })(r),
    );
    try {
      await t.throwsAsync(QdrantVectorIndex.open({ url: fake.url, modelId: 'test-model', dimensions: 4, timeoutMs: 2000 }), {
        instanceOf: ConfigError,
      });
    } finally {
      await fake.close();
    }
  }
});

test.serial('writes and searches send scoped requests and wait for them', async (t) => {
  const state = {
    exists: true,
    points: [
      { id: pointIdOf(A, 'b'), version: 1, score: 0.5, payload: { memoryId: 'b' } },
      { id: pointIdOf(A, 'a'), version: 1, score: 0.5, payload: { memoryId: 'a' } },
      { id: pointIdOf(A, 'c'), version: 1, score: 0.9, payload: { memoryId: 'c' } },
      { id: 'x', version: 1, score: 0.1, payload: {} },
    ],
  };
  const fake = await fakeQdrant(qdrantRoutes(state));
  try {
    const index = await QdrantVectorIndex.open({ url: fake.url, modelId: 'test-model', dimensions: 4, timeoutMs: 2000 });
    t.false(index.created);
    fake.requests.length = 0;
    const scope = [{ key: 'tenant', match: { value: 'acme' } }, { key: 'user', match: { value: 'alice' } }];

    await index.upsert(A, [doc(), doc({ id: 'm2', text: 'old' }), doc({ id: 'm2', text: 'new' })]);
    const up = fake.requests.at(-1);
    t.is(up?.method, 'PUT');
    t.regex(up?.path ?? '', new RegExp(`^/collections/${COLLECTION}/points\\?.*wait=true`));
    const points = (up?.body as { points: { id: string; payload: { text: string } }[] }).points;
    t.deepEqual(points.map((p) => p.id), [pointIdOf(A, 'm1'), pointIdOf(A, 'm2')]);
    t.is(points[1]?.payload.text, 'new', 'the last write of an id in a batch wins');

    await index.remove(A, ['m1', 'm1', 'm2']);
    const del = fake.requests.at(-1);
    t.regex(del?.path ?? '', /\/points\/delete\?.*wait=true/);
    t.deepEqual(del?.body, { filter: { must: [...scope, { has_id: [pointIdOf(A, 'm1'), pointIdOf(A, 'm2')] }] } });

    await index.setStatus(A, 'm1', 'invalidated', 300, null);
    const set = fake.requests.at(-1);
    t.is(set?.method, 'POST');
    t.regex(set?.path ?? '', /\/points\/payload\?.*wait=true/);
    t.deepEqual(set?.body, {
      payload: { status: 'invalidated', validTo: 300, supersededAt: OPEN_END },
      filter: { must: [...scope, { has_id: [pointIdOf(A, 'm1')] }] },
    });

    const dense = await index.searchDense(A, [0.5, 0.5, 0, 0], 3, { kinds: ['fact'] });
    t.deepEqual(dense, [{ id: 'c', score: 0.9 }, { id: 'a', score: 0.5 }, { id: 'b', score: 0.5 }]);
    t.deepEqual(fake.requests.at(-1)?.body, {
      query: [0.5, 0.5, 0, 0],
      using: 'dense',
      filter: searchFilterOf(A, { kinds: ['fact'] }),
      limit: 3,
      with_payload: ['memoryId'],
    });

    await index.searchText(A, 'Hiking in PARIS', 1e9);
    t.deepEqual(fake.requests.at(-1)?.body, {
      query: queryVector('Hiking in PARIS'),
      using: 'bm25',
      filter: searchFilterOf(A),
      limit: 4096,
      with_payload: ['memoryId'],
    });

    // Nothing to ask: no request at all.
    const before = fake.requests.length;
    t.deepEqual(await index.searchText(A, '"*:-()', 5), []);
    t.deepEqual(await index.searchDense(A, [0, 0, 0, 0], 5), []);
    t.deepEqual(await index.searchDense(A, [1, 0, 0, 0], 5, { statuses: [] }), []);
    await index.remove(A, []);
    t.is(fake.requests.length, before);

    // clear() drops the collection and creates it again with its indexes (twice: a missing one is fine).
    for (const _ of [1, 2]) {
      fake.requests.length = 0;
      await index.clear();
      t.deepEqual(
        fake.requests.slice(0, 3).map((r) => `${r.method} ${r.path.split('?')[0]}`),
        [`DELETE /collections/${COLLECTION}`, `GET /collections/${COLLECTION}/exists`, `PUT /collections/${COLLECTION}`],
      );
      t.is(fake.requests.filter((r) => r.path.startsWith(`/collections/${COLLECTION}/index`)).length, MEMORY_PAYLOAD_INDEXES.length);
      state.exists = false;
    }
  } finally {
    await fake.close();
  }
});

test.serial('server errors, timeouts and refused connections become StorageErrors', async (t) => {
  let reply: Reply = { status: 503, error: 'overloaded' };
  const fake = await fakeQdrant((r) => (r.method === 'POST' ? reply : qdrantRoutes({ exists: true })(r)));
  try {
    const index = await QdrantVectorIndex.open({ url: fake.url, modelId: 'test-model', dimensions: 4, timeoutMs: 300 });
    const e503 = await t.throwsAsync(index.searchText(A, 'x', 5), { instanceOf: StorageError });
    t.true(e503?.retriable);
    reply = { status: 400, error: 'Wrong input' };
    const e400 = await t.throwsAsync(index.searchText(A, 'x', 5), { instanceOf: StorageError });
    t.false(e400?.retriable);
    t.regex(e400?.message ?? '', /Wrong input/);
    reply = 'hang';
    const timeout = await t.throwsAsync(index.searchText(A, 'x', 5), { instanceOf: StorageError });
    t.true(timeout?.retriable);
  } finally {
    await fake.close();
  }
  // Nothing listens on the port any more.
  const refused = await t.throwsAsync(
    QdrantVectorIndex.open({ url: fake.url, modelId: 'test-model', dimensions: 4, timeoutMs: 2000 }),
    { instanceOf: StorageError },
  );
  t.true(refused?.retriable);
  await t.throwsAsync(QdrantVectorIndex.open({ url: 'not a url', modelId: 'm', dimensions: 4 }), { instanceOf: ConfigError });
});

test.serial('checkpoints: monotonic save, per-projector reset, on the wire', async (t) => {
  const stored = new Map<string, number>();
  const fake = await fakeQdrant((r) => {
    const p = r.path.split('?')[0] ?? '';
    if (p.endsWith('/exists')) return { status: 200, result: { exists: false } };
    if (r.method === 'GET') return { status: 200, result: { ...(collectionInfo() as object), payload_schema: {} } };
    if (r.method === 'POST' && p.endsWith('/points')) {
      const ids = (r.body as { ids: string[] }).ids;
      return {
        status: 200,
        result: ids.filter((id) => stored.has(id)).map((id) => ({ id, payload: { nextOffset: stored.get(id) } })),
      };
    }
    if (r.method === 'PUT' && p.endsWith('/points')) {
      for (const pt of (r.body as { points: { id: string; payload: { nextOffset: number } }[] }).points) {
        stored.set(pt.id, pt.payload.nextOffset);
      }
    }
    if (r.method === 'POST' && p.endsWith('/points/delete')) stored.clear();
    return { status: 200, result: true };
  });
  try {
    const cp = await QdrantCheckpointStore.open({ url: fake.url, collection: 'cp_test', timeoutMs: 2000 });
    t.like(fake.requests.find((r) => r.method === 'PUT' && r.path.startsWith('/collections/cp_test'))?.body as object, {
      vectors: { size: 1, distance: 'Dot' },
    });
    t.truthy(fake.requests.find((r) => (r.body as { field_name?: string } | null)?.field_name === 'projector'));
    t.is(await cp.checkpoint('vector-index', 'memory-events', 0), 0);
    await cp.saveCheckpoint('vector-index', 'memory-events', 0, 10);
    t.is(await cp.checkpoint('vector-index', 'memory-events', 0), 10);
    const writes = fake.requests.filter((r) => r.method === 'PUT' && r.path.includes('/points')).length;
    await cp.saveCheckpoint('vector-index', 'memory-events', 0, 7);
    t.is(await cp.checkpoint('vector-index', 'memory-events', 0), 10, 'never moves backwards');
    t.is(fake.requests.filter((r) => r.method === 'PUT' && r.path.includes('/points')).length, writes);
    await cp.reset('vector-index');
    t.deepEqual(fake.requests.at(-1)?.body, { filter: { must: [{ key: 'projector', match: { value: 'vector-index' } }] } });
    t.regex(fake.requests.at(-1)?.path ?? '', /wait=true/);
    t.is(await cp.checkpoint('vector-index', 'memory-events', 0), 0);
    await t.throwsAsync(cp.saveCheckpoint('vector-index', 'memory-events', 0, -1), { instanceOf: ValidationError });
    await t.throwsAsync(cp.checkpoint('', 'memory-events', 0), { instanceOf: ValidationError });
    await t.throwsAsync(QdrantCheckpointStore.open({ url: fake.url, collection: 'Bad Name' }), { instanceOf: ValidationError });
  } finally {
    await fake.close();
  }
});
