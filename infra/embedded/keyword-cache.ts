/**
 * An in-memory inverted index of one scope's texts, for keyword search over large histories. FTS5
 * has no top-k pruning: a word found in a third of a 100k history has every one of those rows
 * scored by `bm25()` and joined to its metadata, tens of milliseconds per query. Here a word's
 * postings are packed arrays and scoring one is a tight loop, about a millisecond for 40k rows.
 *
 * It is a cache of `fts_memories`, kept like the codes (code-cache.ts): loaded from the table,
 * kept current by the index's own writes after they commit, reloaded when the scope's version
 * shows another connection changed it. Terms come from fts-tokenizer.ts, which tokenizes exactly as
 * FTS5 does, and scores are FTS5's BM25 (k1 = 1.2, b = 0.75, the IDF clamped to 1e-6) over the
 * scope's documents, so that on a single-scope index both paths give the same lists.
 */
import { forEachFtsToken, ftsTokens } from './fts-tokenizer.js';

/** BM25's term-frequency saturation, as FTS5's `bm25()`. */
const K1 = 1.2;
/** BM25's length normalisation, as FTS5's `bm25()`. */
const B = 0.75;
/**
 * Tokens of a row's `tags` column (scope token, granularity), weighted 0 but counted by FTS5 in the
 * row's length and the average length.
 */
const TAG_TOKENS = 2;
/** Compaction runs once this share of slots is dead (and at least COMPACT_MIN_DEAD of them). */
const COMPACT_SHARE = 0.25;
const COMPACT_MIN_DEAD = 1024;

/** One hit of a keyword search. */
export interface KeywordHit {
  readonly docId: number;
  /** The memory id (ties are broken by it, as the SQL path does). */
  readonly id: string;
  readonly score: number;
}

/** A row of `fts_memories` joined to its `vec_docs` row, as the cache loads it. */
export interface KeywordRow {
  readonly doc_id: number;
  readonly memory_id: string;
  readonly text: string;
  /** Position of the document's granularity in GRANULARITIES. */
  readonly granularity: number;
}

/** The documents containing one term: slots and term frequencies, growable. */
interface Postings {
  slots: Int32Array;
  tfs: Uint16Array;
  /** Entries used (dead slots included until compaction). */
  n: number;
  /** Live documents containing the term (the document frequency). */
  df: number;
}

/** How one query term is scored: its postings and IDF. */
interface QueryTerm {
  readonly postings: Postings;
  readonly idf: number;
}

/** Every text of one scope, as postings over document slots (a slot is never reused until compaction). */
export class ScopeKeywords {
  private readonly termIndex = new Map<string, number>();
  private postings: Postings[] = [];
  private slotOf = new Map<number, number>();
  private slots = 0;
  private docIds = new Float64Array(64);
  private ids: (string | undefined)[] = [];
  /** Row length in tokens (text plus tags), 0 for a dead slot. */
  private lengths = new Uint32Array(64);
  private alive = new Uint8Array(64);
  /** Position of each slot's granularity in GRANULARITIES (searches rank within granularities). */
  private granularity = new Uint8Array(64);
  /** Each slot's distinct terms, flat (termStart[slot] .. termStart[slot + 1]). */
  private slotTerms = new Int32Array(256);
  private termStart = new Uint32Array(65);
  private termsUsed = 0;
  private live = 0;
  private totalLength = 0;
  /** Score accumulator by slot, and the slots a search touched, reused across searches. */
  private acc = new Float64Array(0);
  private touched = new Int32Array(0);
  /** The touched slots' scores, in touch order. */
  private scores = new Float64Array(0);
  /** A row's term ids while it is indexed. */
  private scratch = new Int32Array(64);

  constructor(
    /** The scope's row in `vec_scope_versions` this copy matches. */
    public version: number,
  ) {}

  /** Live documents held. */
  get size(): number {
    return this.live;
  }

  /** Fills the cache from `fts_memories` rows. */
  load(rows: Iterable<KeywordRow>): this {
    for (const r of rows) this.put(r.doc_id, r.memory_id, r.text, r.granularity);
    // Posting lists grew by doubling: give back the unused half (later writes grow them again).
    for (const p of this.postings) {
      if (p.slots.length > p.n + 8) {
        p.slots = p.slots.slice(0, p.n);
        p.tfs = p.tfs.slice(0, p.n);
      }
    }
    return this;
  }

  /** Indexes a document's text (replacing what it had); `granularity` is its position in GRANULARITIES. */
  put(docId: number, id: string, text: string, granularity: number): void {
    this.remove(docId);
    if (this.slots === this.docIds.length) this.growSlots();
    const slot = this.slots++;
    this.slotOf.set(docId, slot);
    this.docIds[slot] = docId;
    this.ids[slot] = id;
    // The row's term ids, sorted so that repeats are adjacent: each run is one posting.
    let n = 0;
    forEachFtsToken(text, (t) => {
      let term = this.termIndex.get(t);
      if (term === undefined) {
        term = this.postings.length;
        this.termIndex.set(t, term);
        this.postings.push({ slots: new Int32Array(2), tfs: new Uint16Array(2), n: 0, df: 0 });
      }
      if (n === this.scratch.length) this.scratch = grown(this.scratch, n * 2);
      this.scratch[n++] = term;
    });
    const terms = this.scratch.subarray(0, n).sort();
    let distinct = 0;
    for (let i = 0; i < n; i++) if (i === 0 || terms[i] !== terms[i - 1]) distinct++;
    if (this.termsUsed + distinct > this.slotTerms.length) this.slotTerms = grown(this.slotTerms, Math.max(this.slotTerms.length * 2, this.termsUsed + distinct));
    for (let i = 0; i < n; ) {
      const term = terms[i] as number;
      let tf = 0;
      while (i < n && terms[i] === term) {
        tf++;
        i++;
      }
      const p = this.postings[term] as Postings;
      if (p.n === p.slots.length) {
        p.slots = grown(p.slots, Math.max(4, p.n * 2));
        p.tfs = grown(p.tfs, Math.max(4, p.n * 2));
      }
      p.slots[p.n] = slot;
      p.tfs[p.n] = Math.min(tf, 0xffff);
      p.n++;
      p.df++;
      this.slotTerms[this.termsUsed++] = term;
    }
    this.termStart[slot + 1] = this.termsUsed;
    const length = n + TAG_TOKENS;
    this.lengths[slot] = length;
    this.alive[slot] = 1;
    this.granularity[slot] = granularity;
    this.live++;
    this.totalLength += length;
  }

  /** Moves a document to another granularity (its text unchanged; absent documents are ignored). */
  setGranularity(docId: number, granularity: number): void {
    const slot = this.slotOf.get(docId);
    if (slot !== undefined) this.granularity[slot] = granularity;
  }

  /** Drops a document (absent documents are ignored). */
  remove(docId: number): void {
    const slot = this.slotOf.get(docId);
    if (slot === undefined) return;
    this.slotOf.delete(docId);
    for (let i = this.termStart[slot] as number; i < (this.termStart[slot + 1] as number); i++) (this.postings[this.slotTerms[i] as number] as Postings).df--;
    this.totalLength -= this.lengths[slot] as number;
    this.alive[slot] = 0;
    this.ids[slot] = undefined;
    this.live--;
    const dead = this.slots - this.live;
    if (dead >= COMPACT_MIN_DEAD && dead >= this.slots * COMPACT_SHARE) this.compact();
  }

  /**
   * The best `k` documents of each group for the query's words (`words` as `ftsTerms` gives them:
   * each is scored as FTS5 scores a quoted word, repeats included), by BM25, best first, ties by
   * memory id. `groupOf[g]` is the group of granularity g (by position in GRANULARITIES), -1 for
   * none; `passes` is the rest of the filter. With `dropCommon`, words in at least half the
   * documents are left out (their IDF is ~0 anyway).
   */
  search(words: readonly string[], k: number, groupOf: readonly number[], passes: (docId: number) => boolean, dropCommon: boolean): KeywordHit[][] {
    const groups = Math.max(0, ...groupOf) + 1;
    const out: KeywordHit[][] = Array.from({ length: groups }, () => []);
    if (this.live === 0 || k <= 0) return out;
    const terms = this.queryTerms(words, dropCommon);
    if (terms.length === 0) return out;
    if (this.acc.length < this.slots) {
      this.acc = new Float64Array(this.docIds.length);
      this.touched = new Int32Array(this.docIds.length);
    }
    const { acc, alive, lengths, touched } = this;
    const avgdl = this.totalLength / this.live;
    let nTouched = 0;
    for (const { postings, idf } of terms) {
      const { slots, tfs, n } = postings;
      for (let i = 0; i < n; i++) {
        const slot = slots[i] as number;
        if (alive[slot] === 0) continue;
        const tf = tfs[i] as number;
        const before = acc[slot] as number;
        if (before === 0) touched[nTouched++] = slot;
        // The same operations in the same order as FTS5's bm25(), so that scores tie where its do.
        acc[slot] = before + idf * ((tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * (lengths[slot] as number)) / avgdl)));
      }
    }
    const scores = this.scores.length >= nTouched ? this.scores : (this.scores = new Float64Array(this.acc.length));
    for (let t = 0; t < nTouched; t++) {
      const slot = touched[t] as number;
      scores[t] = acc[slot] as number;
      acc[slot] = 0;
    }
    // Most rows pass the filter: the best 2k of each group are found without it, then tested in
    // rank order. Only a group where fewer than k of those pass is searched again, testing every
    // row it would keep (the best k passing rows are among the best 2k whenever k of those pass).
    const wide = this.best(nTouched, 2 * k, groups, groupOf, null, null);
    const redo = new Set<number>();
    wide.forEach((top, g) => {
      const kept: KeywordHit[] = [];
      for (const hit of top.sorted()) {
        if (kept.length === k) break;
        if (passes(hit.docId)) kept.push(hit);
      }
      out[g] = kept;
      if (kept.length < k && top.size === 2 * k) redo.add(g);
    });
    if (redo.size > 0) this.best(nTouched, k, groups, groupOf, passes, redo).forEach((top, g) => redo.has(g) && (out[g] = top.sorted()));
    return out;
  }

  /**
   * The best `k` touched rows of each group (of the groups in `only`, or all) by their score in
   * `scores`; with `passes`, among the rows that pass it, tested only for a row that would be kept.
   */
  private best(nTouched: number, k: number, groups: number, groupOf: readonly number[], passes: ((docId: number) => boolean) | null, only: ReadonlySet<number> | null): TopK[] {
    const { granularity, scores, touched } = this;
    const best = Array.from({ length: groups }, () => new TopK(k));
    for (let t = 0; t < nTouched; t++) {
      const slot = touched[t] as number;
      const g = groupOf[granularity[slot] as number] ?? -1;
      if (g < 0 || (only !== null && !only.has(g))) continue;
      const top = best[g] as TopK;
      const score = scores[t] as number;
      const id = this.ids[slot] as string;
      // What would not enter a full group needs no filter test (most rows, in a long history).
      if (!top.admits(score, id)) continue;
      const docId = this.docIds[slot] as number;
      if (passes === null || passes(docId)) top.offer({ docId, id, score });
    }
    return best;
  }

  /** The query's words as terms with postings and IDF; repeats kept (FTS5 scores each quoted word). */
  private queryTerms(words: readonly string[], dropCommon: boolean): QueryTerm[] {
    const out: QueryTerm[] = [];
    for (const word of words) {
      // A quoted word FTS5 splits into several tokens is a phrase; ftsTerms never yields one in
      // practice (it splits on the same characters), so such a word is simply not matched here.
      const tokens = ftsTokens(word);
      if (tokens.length !== 1) continue;
      const term = this.termIndex.get(tokens[0] as string);
      const postings = term === undefined ? undefined : this.postings[term];
      if (postings === undefined || postings.df === 0) continue;
      if (dropCommon && 2 * postings.df >= this.live) continue;
      const idf = Math.log((this.live - postings.df + 0.5) / (postings.df + 0.5));
      out.push({ postings, idf: idf <= 0 ? 1e-6 : idf });
    }
    return out;
  }

  /** Renumbers the live slots and drops the dead ones from every posting list. */
  private compact(): void {
    const renumber = new Int32Array(this.slots).fill(-1);
    let next = 0;
    for (let s = 0; s < this.slots; s++) if (this.alive[s] === 1) renumber[s] = next++;
    for (const p of this.postings) {
      let w = 0;
      for (let i = 0; i < p.n; i++) {
        const to = renumber[p.slots[i] as number] as number;
        if (to < 0) continue;
        p.slots[w] = to;
        p.tfs[w] = p.tfs[i] as number;
        w++;
      }
      p.n = w;
    }
    const docIds = new Float64Array(Math.max(64, next * 2));
    const lengths = new Uint32Array(docIds.length);
    const alive = new Uint8Array(docIds.length);
    const granularity = new Uint8Array(docIds.length);
    const termStart = new Uint32Array(docIds.length + 1);
    const ids: (string | undefined)[] = [];
    const slotTerms = new Int32Array(Math.max(256, this.termsUsed));
    let used = 0;
    for (let s = 0; s < this.slots; s++) {
      const to = renumber[s] as number;
      if (to < 0) continue;
      docIds[to] = this.docIds[s] as number;
      lengths[to] = this.lengths[s] as number;
      alive[to] = 1;
      granularity[to] = this.granularity[s] as number;
      ids[to] = this.ids[s];
      for (let i = this.termStart[s] as number; i < (this.termStart[s + 1] as number); i++) slotTerms[used++] = this.slotTerms[i] as number;
      termStart[to + 1] = used;
    }
    Object.assign(this, { docIds, lengths, alive, granularity, termStart, ids, slotTerms, termsUsed: used, slots: next, acc: new Float64Array(0), touched: new Int32Array(0) });
    this.slotOf = new Map([...this.slotOf].map(([docId, s]) => [docId, renumber[s] as number]));
  }

  private growSlots(): void {
    const n = this.docIds.length * 2;
    this.docIds = grown(this.docIds, n);
    this.lengths = grown(this.lengths, n);
    this.alive = grown(this.alive, n);
    this.granularity = grown(this.granularity, n);
    this.termStart = grown(this.termStart, n + 1);
  }
}

/** A copy of `a` with room for `size` elements. */
function grown<T extends Int32Array | Uint16Array | Uint32Array | Uint8Array | Float64Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a.subarray(0, Math.min(a.length, size)));
  return b;
}

/** The best k hits seen so far (a min-heap on score, then on reversed id). */
class TopK {
  private readonly heap: KeywordHit[] = [];

  constructor(private readonly k: number) {}

  /** Hits kept. */
  get size(): number {
    return this.heap.length;
  }

  /** Whether a hit with this score and id would be kept. */
  admits(score: number, id: string): boolean {
    if (this.heap.length < this.k) return true;
    const w = this.heap[0] as KeywordHit;
    return w.score < score || (w.score === score && w.id > id);
  }

  /** Keeps `hit` when it is among the best k. */
  offer(hit: KeywordHit): void {
    const h = this.heap;
    if (h.length < this.k) {
      h.push(hit);
      this.up(h.length - 1);
    } else if (worse(h[0] as KeywordHit, hit)) {
      h[0] = hit;
      this.down(0);
    }
  }

  /** The kept hits, best first. */
  sorted(): KeywordHit[] {
    return [...this.heap].sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!worse(h[i] as KeywordHit, h[parent] as KeywordHit)) break;
      [h[i], h[parent]] = [h[parent] as KeywordHit, h[i] as KeywordHit];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && worse(h[l] as KeywordHit, h[m] as KeywordHit)) m = l;
      if (r < h.length && worse(h[r] as KeywordHit, h[m] as KeywordHit)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as KeywordHit, h[i] as KeywordHit];
      i = m;
    }
  }
}

/** a ranks below b: a lower score, or the same score and a later memory id. */
function worse(a: KeywordHit, b: KeywordHit): boolean {
  return a.score < b.score || (a.score === b.score && a.id > b.id);
}
