/**
 * The retrieval pipeline over in-memory ports: which lists it asks for (per granularity, depth,
 * small-history mode), what each switch turns off, date boosts, diversity, expansion bringing in
 * association targets (within the filter and the scope only), and validation of stage names.
 */
import test from 'ava';
import type { Granularity, MemoryKind } from '../../core/model.js';
import type { Embedder, MemoryState, MemoryStore, ScoredId, SearchFilter, VectorIndex } from '../../core/ports.js';
import { scopeOf, type Scope } from '../../core/scope.js';
import { cosine } from '../../core/text.js';
import { ValidationError } from '../../core/errors.js';
import { retrieve, type RetrievalDeps } from '../../readmodels/retrieval/retrieve.js';
import { RETRIEVAL_STAGES } from '../../readmodels/retrieval/stages.js';
import { hybridSearch } from '../../readmodels/search.js';
import { src, stateFixture } from '../helpers/fixtures.js';

const scope = scopeOf('t', 'u');

/** Embeds by counting three topic words, so similarity is predictable. */
const embedder: Embedder = {
  modelId: 'topics',
  dimensions: 3,
  embed: async (texts) => texts.map((t) => ['garden', 'violin', 'paris'].map((w) => (t.toLowerCase().includes(w) ? 1 : 0) + 0.01)),
};

interface Call {
  readonly kind: 'dense' | 'text';
  readonly k: number;
  readonly granularities: readonly Granularity[] | undefined;
}

/** Vector index and store over a fixed list of states, recording the searches made. */
function portsOver(states: readonly MemoryState[], owner: Scope = scope): { deps: RetrievalDeps; calls: Call[] } {
  const calls: Call[] = [];
  const visible = (s: MemoryState, f?: SearchFilter): boolean =>
    (f?.statuses ?? ['active']).includes(s.status) &&
    (!f?.granularities || f.granularities.includes(s.memory.granularity)) &&
    (!f?.kinds || f.kinds.includes(s.memory.kind));
  const mine = (sc: Scope): readonly MemoryState[] => (sc.tenantId === owner.tenantId && sc.userId === owner.userId ? states : []);
  const vectors = {
    searchDense: async (sc: Scope, v: readonly number[], k: number, f?: SearchFilter): Promise<ScoredId[]> => {
      calls.push({ kind: 'dense', k, granularities: f?.granularities });
      return mine(sc)
        .filter((s) => visible(s, f))
        .map((s) => ({ id: s.memory.id, score: cosine(v, s.memory.embedding) }))
        .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
        .slice(0, k);
    },
    searchText: async (sc: Scope, q: string, k: number, f?: SearchFilter): Promise<ScoredId[]> => {
      calls.push({ kind: 'text', k, granularities: f?.granularities });
      const words = q.toLowerCase().split(/\s+/);
      return mine(sc)
        .filter((s) => visible(s, f))
        .map((s) => ({ id: s.memory.id, score: words.filter((w) => s.memory.text.toLowerCase().includes(w)).length }))
        .filter((h) => h.score > 0)
        .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
        .slice(0, k);
    },
  } as unknown as VectorIndex;
  const store = {
    getMany: async (sc: Scope, ids: readonly string[]) => mine(sc).filter((s) => ids.includes(s.memory.id)),
  } as unknown as MemoryStore;
  return { deps: { embedder, vectors, store }, calls };
}

let seq = 0;
/** A memory whose embedding follows its text, from its own message. */
function mem(text: string, over: { granularity?: Granularity; kind?: MemoryKind; at?: number; offset?: number; links?: { memoryId: string; weight: number }[]; status?: MemoryState['status'] } = {}): MemoryState {
  const id = `m${++seq}`;
  const at = over.at ?? Date.UTC(2024, 0, 1);
  const base = stateFixture(id, text, at, {
    granularity: over.granularity ?? 'turn',
    kind: over.kind ?? 'episode',
    status: over.status,
    embedding: ['garden', 'violin', 'paris'].map((w) => (text.toLowerCase().includes(w) ? 1 : 0) + 0.01),
    sources: [{ ...src(`msg-${id}`), offset: over.offset ?? seq * 10 }],
  });
  return { ...base, links: over.links ?? [] };
}

const filter: SearchFilter = { statuses: ['active'] };

test('asks for dense and keyword lists per granularity, at the normal depth for a large history', async (t) => {
  const states = Array.from({ length: 160 }, (_, i) => mem(`note ${i} about the garden`));
  const { deps, calls } = portsOver(states);
  await retrieve(deps, scope, 'garden plans', { k: 5, filter });
  const dense = calls.filter((c) => c.kind === 'dense');
  const keyword = calls.filter((c) => c.kind === 'text');
  t.deepEqual(dense[0], { kind: 'dense', k: 151, granularities: undefined }, 'the small-history probe');
  t.is(dense.length, 4);
  t.is(keyword.length, 3);
  for (const lists of [dense.slice(1), keyword]) {
    t.deepEqual(lists.map((c) => c.granularities?.[0]).sort(), ['fact', 'session', 'turn']);
    t.true(lists.every((c) => c.granularities?.length === 1));
  }
  t.true(dense.slice(1).every((c) => c.k === 40));
  // Keyword lists are fetched while the query is embedded, at the depth small-history mode may
  // need, and cut to the depth once the history is known to be large.
  t.true(keyword.every((c) => c.k === 150));
});

test('keyword lists and their states are fetched after the embedding request is sent and before its vector is back', async (t) => {
  const states = Array.from({ length: 160 }, (_, i) => mem(`note ${i} about the garden`));
  const { deps } = portsOver(states);
  const order: string[] = [];
  let release = (): void => undefined;
  // Like the offline model: the request reaches its thread a few promise steps after the call.
  const slowEmbedder: Embedder = {
    ...embedder,
    embed: async (texts) => {
      await Promise.resolve();
      await Promise.resolve();
      order.push('embedding requested');
      await new Promise<void>((resolve) => (release = resolve));
      order.push('vector back');
      return embedder.embed(texts);
    },
  };
  const vectors = deps.vectors;
  const store = deps.store;
  const recorded: RetrievalDeps = {
    embedder: slowEmbedder,
    vectors: { ...vectors, searchText: async (...a: Parameters<VectorIndex['searchText']>) => (order.push('keyword'), vectors.searchText(...a)), searchDense: vectors.searchDense } as VectorIndex,
    store: {
      getMany: async (sc: Scope, ids: readonly string[]) => {
        order.push(`states of ${ids.length}`);
        // The vector can come back once the keyword candidates' states are read.
        release();
        return store.getMany(sc, ids);
      },
    } as unknown as MemoryStore,
  };
  const found = await retrieve(recorded, scope, 'garden plans', { k: 5, filter });
  t.is(found.length, 5);
  t.is(order[0], 'embedding requested');
  t.deepEqual(order.slice(1, 4), ['keyword', 'keyword', 'keyword']);
  t.regex(order[4] ?? '', /^states of \d+$/);
  t.is(order[5], 'vector back');
});

test('small-history mode ranks every memory of a small user; switched off it keeps the normal depth', async (t) => {
  const states = Array.from({ length: 60 }, (_, i) => mem(`note ${i} about the garden`));
  const on = portsOver(states);
  const all = await retrieve(on.deps, scope, 'violin', { k: 60, filter });
  t.true(on.calls.slice(1).every((c) => c.k === 180 || c.k === 150));
  const small = portsOver(states);
  await retrieve(small.deps, scope, 'violin', { k: 5, filter });
  t.true(small.calls.filter((c) => !(c.kind === 'dense' && c.k === 151)).every((c) => c.k === 150), 'depth raised to the threshold');
  const off = portsOver(states);
  await retrieve(off.deps, scope, 'violin', { k: 5, filter, disable: ['small_history'] });
  t.true(off.calls.every((c) => c.k === 40), 'no probe, normal depth');
  t.is(all.length, 60, 'every memory ranked, even those the query shares nothing with');
});

test('switching off dense or bm25 skips those lists; with both off nothing is found', async (t) => {
  const states = [mem('I play the violin'), mem('My garden is small')];
  const noDense = portsOver(states);
  const hits = await retrieve(noDense.deps, scope, 'violin', { k: 5, filter, disable: ['dense'] });
  t.false(noDense.calls.some((c) => c.kind === 'dense'));
  t.deepEqual(hits.map((h) => h.state.memory.text), ['I play the violin']);
  const noBm25 = portsOver(states);
  await retrieve(noBm25.deps, scope, 'violin', { k: 5, filter, disable: ['bm25'] });
  t.false(noBm25.calls.some((c) => c.kind === 'text'));
  const neither = portsOver(states);
  t.deepEqual(await retrieve(neither.deps, scope, 'violin', { k: 5, filter, disable: ['dense', 'bm25'] }), []);
});

test('a date in the query boosts memories valid in that window, unless dates are off', async (t) => {
  const june = mem('Went to Paris with the violin', { at: Date.UTC(2024, 5, 10) });
  const march = mem('Went to Paris with the violin', { at: Date.UTC(2024, 2, 10) });
  const { deps } = portsOver([june, march]);
  const boosted = await retrieve(deps, scope, 'Paris trip in March 2024', { k: 2, filter, disable: ['small_history', 'diversify'] });
  t.is(boosted[0]?.state.memory.id, march.memory.id);
  const plain = await retrieve(deps, scope, 'Paris trip in March 2024', { k: 2, filter, disable: ['small_history', 'diversify', 'dates'] });
  // Without the boost the two texts are equal and the tie breaks by id.
  t.is(plain[0]?.state.memory.id, [march.memory.id, june.memory.id].sort()[0]);
  t.not(plain[0]?.state.memory.id, march.memory.id, 'the fixture must make the boost the deciding factor');
});

test('diversity moves a result citing only already-cited turns below fresh evidence', async (t) => {
  const episode = mem('Caroline: I play the violin in a garden band');
  const fact = { ...mem('Caroline plays the violin', { granularity: 'fact', kind: 'fact' }) };
  const sameSource = { ...fact, memory: { ...fact.memory, sources: episode.memory.sources } };
  const other = mem('Caroline: my garden has roses');
  const { deps } = portsOver([episode, sameSource, other]);
  const on = await retrieve(deps, scope, 'violin garden', { k: 3, filter, disable: ['small_history'] });
  const off = await retrieve(deps, scope, 'violin garden', { k: 3, filter, disable: ['small_history', 'diversify'] });
  const rank = (list: typeof on, id: string): number => list.findIndex((h) => h.state.memory.id === id);
  // The episode and the fact cite one turn: whichever ranks second is the duplicate.
  const dup = rank(off, episode.memory.id) > rank(off, sameSource.memory.id) ? episode.memory.id : sameSource.memory.id;
  t.true(rank(off, other.memory.id) > rank(off, dup), 'without diversity the duplicate ranks above fresh evidence');
  t.is(rank(on, dup), 2, 'with diversity the duplicate goes last');
  t.is(rank(on, other.memory.id), 1);
});

test('expansion brings in an associated memory the lists missed, within the filter and scope', async (t) => {
  const hidden = mem('Tuesday rehearsal schedule', { offset: 10_000 });
  const archived = mem('Old rehearsal notes', { status: 'archived', offset: 20_000 });
  const seed = mem('I play the violin', { links: [{ memoryId: hidden.memory.id, weight: 0.9 }, { memoryId: archived.memory.id, weight: 0.9 }] });
  const { deps } = portsOver([seed, hidden, archived]);
  // The hidden memory shares nothing with the query: only the association edge can reach it.
  const lists = { k: 5, filter, disable: ['small_history'] as const };
  const withExpansion = await retrieve(deps, scope, 'violin', { ...lists, disable: ['small_history', 'bm25'] });
  const ids = withExpansion.map((h) => h.state.memory.id);
  t.true(ids.includes(hidden.memory.id));
  t.false(ids.includes(archived.memory.id), 'an archived target stays out of a default search');
  const without = await retrieve(deps, scope, 'violin', { ...lists, disable: ['small_history', 'bm25', 'expansion', 'dense'] });
  t.false(without.map((h) => h.state.memory.id).includes(hidden.memory.id));
  // Another user's search never sees these memories.
  const { deps: theirs } = portsOver([seed, hidden], scopeOf('t', 'someone-else'));
  t.deepEqual(await retrieve(theirs, scope, 'violin', { k: 5, filter }), []);
});

test('hybridSearch rejects an unknown stage and lists the known ones', async (t) => {
  const { deps } = portsOver([mem('I play the violin')]);
  const err = await t.throwsAsync(hybridSearch(deps, scope, 'violin', { disable: ['telepathy' as never] }), { instanceOf: ValidationError });
  t.true(RETRIEVAL_STAGES.every((s) => err?.message.includes(s)));
  t.is((await hybridSearch(deps, scope, 'violin', { disable: [...RETRIEVAL_STAGES.filter((s) => s !== 'bm25')] })).length, 1);
});

test('matchesFilter follows the adapters: statuses default to active, validity and knowledge windows are half-open', async (t) => {
  const { matchesFilter } = await import('../../readmodels/retrieval/filter.js');
  const s = stateFixture('x', 'text', 100, { validTo: 200, supersededAt: 300 });
  t.true(matchesFilter(s, {}));
  t.false(matchesFilter({ ...s, status: 'archived' }, {}));
  t.true(matchesFilter({ ...s, status: 'archived' }, { statuses: ['archived'] }));
  t.false(matchesFilter(s, { kinds: ['episode'] }));
  t.false(matchesFilter(s, { granularities: ['turn'] }));
  t.true(matchesFilter(s, { validAt: 100 }));
  t.false(matchesFilter(s, { validAt: 200 }));
  t.false(matchesFilter(s, { validAt: 99 }));
  t.true(matchesFilter(s, { knownAt: 299 }));
  t.false(matchesFilter(s, { knownAt: 300 }));
});
