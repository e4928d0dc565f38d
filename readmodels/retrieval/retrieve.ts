/**
 * Multi-granularity retrieval (DESIGN.md §5, after MemGAS, LongMemEval and Convomem): dense and
 * BM25 candidates per granularity (turn, fact, session), fused and weighted by an entropy router;
 * then boosts for names and dates the query mentions, personalised PageRank over the user's
 * association, entity and conversation edges, retention weighting, and a diversity pass. Every
 * stage can be switched off (`disable`) for ablations; docs/retrieval.md has the measured effect
 * of each.
 */
import type { Granularity } from '../../core/model.js';
import { GRANULARITIES } from '../../core/model.js';
import type { Embedder, MemoryGraph, MemoryState, MemoryStore, ScoredId, SearchFilter, VectorIndex } from '../../core/ports.js';
import type { Clock } from '../../core/random.js';
import type { Scope } from '../../core/scope.js';
import { cosine } from '../../core/text.js';
import { effectiveStrength, retention, type ForgettingOptions } from '../../activities/forget/retention.js';
import { expansionScores } from './expansion.js';
import { matchesFilter } from './filter.js';
import { fuse } from './fusion.js';
import { analyseQuery, inWindows, type AnalysedQuery } from './query.js';
import { diversify, mentionsName } from './rerank.js';
import { routeByEntropy, type RouterOptions } from './router.js';
import { enabled, type RetrievalStage } from './stages.js';

export interface RetrievalDeps {
  readonly embedder: Embedder;
  readonly vectors: VectorIndex;
  readonly store: MemoryStore;
  readonly graph?: MemoryGraph;
  /** For retention weighting and relative dates; without it every memory counts as fully retained. */
  readonly clock?: Clock;
  readonly forgetting?: ForgettingOptions;
}

export interface RetrievalRequest {
  readonly k: number;
  readonly filter: SearchFilter;
  readonly disable?: readonly RetrievalStage[];
}

/** Tuning of the stages (defaults chosen on the LoCoMo development split, see docs/retrieval.md). */
export interface RetrievalTuning {
  /** Candidates per list: max(k × depthFactor, minDepth). */
  readonly depthFactor: number;
  readonly minDepth: number;
  /** A user with at most this many memories is ranked exhaustively. */
  readonly smallHistory: number;
  /** Relative weight of each granularity before routing. */
  readonly granularityWeight: Readonly<Record<Granularity, number>>;
  /** Share of the dense score in the dense/BM25 convex combination. */
  readonly denseShare: number;
  /** Granularities fused by reciprocal rank (`convex-rrf`) or by weighted score (`convex`). */
  readonly fusion: 'convex' | 'convex-rrf';
  /** What the dense lists embed: the question as asked, its keywords, or the mean of both. */
  readonly denseQuery: 'question' | 'keywords' | 'both';
  readonly router: RouterOptions;
  /** Multiplier for memories by or about a name in the query. */
  readonly nameBoost: number;
  /** Multiplier for memories dated inside a window the query names. */
  readonly dateBoost: number;
  /** Seeds of the PageRank walk, memories outside the lists it may bring in, and its share of the top score. */
  readonly expansionSeeds: number;
  readonly expansionFetch: number;
  readonly expansionWeight: number;
  /** Retention weighting: score × (1 - recencyWeight + recencyWeight × R). */
  readonly recencyWeight: number;
}

export const DEFAULT_TUNING: RetrievalTuning = {
  depthFactor: 3,
  minDepth: 40,
  smallHistory: 150,
  granularityWeight: { turn: 1, fact: 1, session: 1 },
  denseShare: 0.4,
  fusion: 'convex-rrf',
  denseQuery: 'both',
  router: { sharpness: 1, temperature: 0.1 },
  nameBoost: 1.15,
  dateBoost: 1.5,
  expansionSeeds: 10,
  expansionFetch: 10,
  expansionWeight: 0.05,
  recencyWeight: 0.25,
};

/** One ranked memory with the state it was scored from. */
export interface Retrieved {
  readonly state: MemoryState;
  readonly score: number;
}

/** Lists of one granularity: dense and keyword. */
interface GranularityLists {
  readonly dense: readonly ScoredId[];
  readonly keyword: readonly ScoredId[];
}

/** The dense query vector: the question, its keywords, or the normalised mean of both. */
async function queryVector(embedder: Embedder, query: AnalysedQuery, form: RetrievalTuning['denseQuery']): Promise<number[]> {
  const keywords = query.keywords.join(' ');
  if (form === 'question' || keywords === '') return (await embedder.embed([query.text]))[0] as number[];
  if (form === 'keywords') return (await embedder.embed([keywords]))[0] as number[];
  // A question embeds close to other questions; its keywords close to statements about them.
  const [a, b] = (await embedder.embed([query.text, keywords])) as [number[], number[]];
  const mean = a.map((x, i) => x + (b[i] as number));
  const norm = Math.hypot(...mean) || 1;
  return mean.map((x) => x / norm);
}

/**
 * How many memories a dense search over `filter` could return, up to `limit`: what a KNN probe
 * with k = `limit` returns, by a count that stops early where the index offers one. A KNN skips
 * zero vectors; no embedder produces one, and a zero query vector (similar to nothing) takes the probe.
 */
async function historySize(vectors: VectorIndex, scope: Scope, vector: readonly number[], limit: number, filter: SearchFilter): Promise<number> {
  if (vectors.countAtMost && vector.some((x) => x !== 0)) return vectors.countAtMost(scope, limit, filter);
  return (await vectors.searchDense(scope, vector, limit, filter)).length;
}

/** BM25 lists per granularity: in one pass where the index offers it, else one search each. */
async function keywordSearch(
  vectors: VectorIndex,
  scope: Scope,
  text: string,
  depth: number,
  granularities: readonly Granularity[],
  filter: SearchFilter,
): Promise<Map<Granularity, ScoredId[]>> {
  if (vectors.searchTextByGranularity) return vectors.searchTextByGranularity(scope, text, depth, granularities, filter);
  return new Map(await Promise.all(granularities.map(async (g) => [g, await vectors.searchText(scope, text, depth, { ...filter, granularities: [g] })] as const)));
}

/** Ranks a user's memories for `text`: the best `k`, best first. */
export async function retrieve(
  deps: RetrievalDeps,
  scope: Scope,
  text: string,
  request: RetrievalRequest,
  tuning: RetrievalTuning = DEFAULT_TUNING,
): Promise<Retrieved[]> {
  const { k, filter, disable } = request;
  const on = (stage: RetrievalStage): boolean => enabled(disable, stage);
  const now = deps.clock?.now();
  const query = analyseQuery(text, now ?? 0);
  const granularities = filter.granularities ?? GRANULARITIES;
  const keywordText = query.keywords.length > 0 ? query.keywords.join(' ') : query.text;

  let depth = Math.max(k * tuning.depthFactor, tuning.minDepth);
  // Small-history mode (Convomem): a user with no more memories than the threshold has every one ranked.
  const mayGrow = on('small_history') && on('dense') && depth < tuning.smallHistory;
  // The query vector is computed by the model (in its own thread, in the embedded profile) while
  // this one fetches what does not need it: the keyword lists (at the depth small-history mode may
  // need, then cut: a shorter list is a prefix of a longer one), the history size, and the states
  // of the keyword candidates. The request must reach the model before this thread gets busy: the
  // embedder posts it a few promise steps in, so one turn of the event loop goes first.
  const vectorPromise = on('dense') ? queryVector(deps.embedder, query, tuning.denseQuery) : Promise.resolve<number[]>([]);
  // A failure is taken up where the vector is awaited; until then it must not count as unhandled.
  vectorPromise.catch(() => undefined);
  await new Promise<void>((resolve) => setImmediate(resolve));
  const keywordLists = on('bm25') ? await keywordSearch(deps.vectors, scope, keywordText, mayGrow ? tuning.smallHistory : depth, granularities, filter) : new Map<Granularity, ScoredId[]>();
  const counted = mayGrow && deps.vectors.countAtMost ? deps.vectors.countAtMost(scope, tuning.smallHistory + 1, filter) : null;
  counted?.catch(() => undefined);
  const keywordIds = new Set<string>();
  for (const list of keywordLists.values()) for (const hit of list.slice(0, depth)) keywordIds.add(hit.id);
  const known = new Map((keywordIds.size > 0 ? await deps.store.getMany(scope, [...keywordIds]) : []).map((s) => [s.memory.id, s]));
  const vector = await vectorPromise;
  // A zero vector (similar to nothing) has no KNN to count by: historySize probes it instead.
  const size = !mayGrow ? null : counted !== null && vector.some((x) => x !== 0) ? await counted : await historySize(deps.vectors, scope, vector, tuning.smallHistory + 1, filter);
  if (size !== null && size <= tuning.smallHistory) depth = tuning.smallHistory;
  // Each granularity's new candidates are read as soon as its dense list arrives: this thread
  // would otherwise wait while the other granularities' lists are rescored (in the rescoring thread).
  const requested = new Set(known.keys());
  const lists = new Map<Granularity, GranularityLists>(
    await Promise.all(
      granularities.map(async (g): Promise<[Granularity, GranularityLists]> => {
        const dense = on('dense') ? await deps.vectors.searchDense(scope, vector, depth, { ...filter, granularities: [g] }) : [];
        const keyword = (keywordLists.get(g) ?? []).slice(0, depth);
        const missing = [...new Set([...dense, ...keyword].map((hit) => hit.id))].filter((id) => !requested.has(id));
        for (const id of missing) requested.add(id);
        for (const s of missing.length > 0 ? await deps.store.getMany(scope, missing) : []) known.set(s.memory.id, s);
        return [g, { dense, keyword }];
      }),
    ),
  );

  const ids = new Set<string>();
  for (const l of lists.values()) for (const hit of [...l.dense, ...l.keyword]) ids.add(hit.id);
  if (ids.size === 0) return [];
  // In the order of the lists (as one read of every id gives them).
  const states = [...ids].flatMap((id) => {
    const s = known.get(id);
    return s === undefined ? [] : [s];
  });

  // Router (MemGAS): weight each granularity by how peaked its dense relevance is.
  const route =
    on('router') && on('dense')
      ? routeByEntropy(new Map([...lists].map(([g, l]) => [g, l.dense.map((h) => h.score)])), tuning.router)
      : new Map<Granularity, number>();
  const keyword = new Map<string, number>();
  for (const l of lists.values()) for (const hit of l.keyword) keyword.set(hit.id, Math.max(keyword.get(hit.id) ?? 0, hit.score));
  const fused = fuse(
    states.map((s) => ({
      id: s.memory.id,
      granularity: s.memory.granularity,
      cosine: on('dense') ? cosine(vector, s.memory.embedding) : undefined,
      keyword: keyword.get(s.memory.id) ?? 0,
    })),
    {
      denseShare: tuning.denseShare,
      rankAcrossGranularities: tuning.fusion === 'convex-rrf',
      weightOf: (g) => (route.get(g) ?? 1) * tuning.granularityWeight[g],
    },
  );

  const scored = new Map<string, { state: MemoryState; score: number }>();
  for (const s of states) {
    let score = fused.get(s.memory.id) ?? 0;
    if (on('names') && query.names.length > 0 && mentionsName(s, query.names)) score *= tuning.nameBoost;
    if (on('dates') && query.dates.length > 0 && inWindows(s.memory.validFrom, query.dates)) score *= tuning.dateBoost;
    scored.set(s.memory.id, { state: s, score });
  }

  if (on('expansion') && tuning.expansionWeight > 0 && scored.size > 0) {
    const best = [...scored.values()].sort((a, b) => b.score - a.score || (a.state.memory.id < b.state.memory.id ? -1 : 1));
    const top = (best[0] as { score: number }).score;
    const seeds = new Map(best.slice(0, tuning.expansionSeeds).map((c) => [c.state.memory.id, c.score]));
    const reach = expansionScores(seeds, states);
    // Association targets outside the lists: fetch the strongest few (bounded) so expansion can add them.
    const outside = [...reach]
      .filter(([id]) => !scored.has(id))
      .sort((a, b) => b[1] - a[1])
      .slice(0, tuning.expansionFetch)
      .map(([id]) => id);
    for (const s of outside.length > 0 ? await deps.store.getMany(scope, outside) : []) {
      if (matchesFilter(s, filter)) scored.set(s.memory.id, { state: s, score: 0 });
    }
    for (const [id, v] of reach) {
      const c = scored.get(id);
      if (c) c.score += tuning.expansionWeight * top * v;
    }
  }

  const ranked: Retrieved[] = [];
  for (const { state, score } of scored.values()) {
    let weighted = score;
    if (on('recency') && now !== undefined) {
      const m = state.memory;
      const r = retention(effectiveStrength(m.strength, state.accesses ?? 0, deps.forgetting), state.lastTouchedAt ?? m.recordedAt, now);
      weighted *= 1 - tuning.recencyWeight + tuning.recencyWeight * r;
    }
    ranked.push({ state, score: weighted });
  }
  ranked.sort((a, b) => b.score - a.score || (a.state.memory.id < b.state.memory.id ? -1 : 1));
  return (on('diversify') ? diversify(ranked) : ranked).slice(0, k);
}
