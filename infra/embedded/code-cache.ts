/**
 * An in-memory copy of the vector index's binary codes and filter metadata, per scope and
 * granularity, for the first pass of dense search over large histories (binary-codes.ts), and for
 * large scopes their vectors at 8 bits per dimension (int8-simd.ts), which rank the Hamming pass's
 * candidates before the exact rescoring. It is a cache of `vec_docs` and `vec_vectors`: loaded from
 * them, kept current by the index's own writes after they commit, and reloaded when
 * `vec_scope_versions` shows another connection changed the scope.
 */
import type { Granularity, MemoryKind, MemoryStatus } from '../../core/model.js';
import { GRANULARITIES, MEMORY_KINDS, MEMORY_STATUSES } from '../../core/model.js';
import type { SearchFilter } from '../../core/ports.js';
import { codeFromBytes, codeWords, nearestCodes, signCode } from './binary-codes.js';
import { PackedCodes } from './hamming-simd.js';
import { PackedInt8Vectors } from './int8-simd.js';

/** What a code carries besides its bits: the columns searches filter on (open-ended times as FAR_FUTURE). */
export interface CodeMeta {
  readonly kind: MemoryKind;
  readonly granularity: Granularity;
  readonly status: MemoryStatus;
  readonly validFrom: number;
  readonly validTo: number;
  readonly recordedAt: number;
  readonly supersededAt: number;
}

/** A `vec_docs` row as the cache loads it. */
export interface CodeRow {
  readonly doc_id: number;
  readonly kind: MemoryKind;
  readonly granularity: Granularity;
  readonly status: MemoryStatus;
  readonly valid_from: number;
  readonly valid_to: number;
  readonly recorded_at: number;
  readonly superseded_at: number;
  readonly code: Uint8Array | null;
  /** The float32 embedding (`vec_vectors`), read only for a copy that holds 8-bit vectors. */
  readonly embedding?: Uint8Array | null;
}

/** A filter compiled to a per-slot test (status, kind and time; granularity picks partitions). */
interface CompiledFilter {
  readonly statuses: ReadonlySet<number>;
  readonly kinds: ReadonlySet<number> | null;
  readonly validAt: number | null;
  readonly knownAt: number | null;
}

const STATUS_INDEX = new Map<string, number>(MEMORY_STATUSES.map((s, i) => [s, i]));
const KIND_INDEX = new Map<string, number>(MEMORY_KINDS.map((k, i) => [k, i]));

/** Codes of one granularity of one scope, in growable packed arrays (slot = position). */
class CodePartition {
  size = 0;
  /** The codes, in WebAssembly memory for the SIMD Hamming scan (`stride` words per slot). */
  private readonly packed: PackedCodes;
  private readonly stride: number;
  private docIds: Float64Array;
  private status: Uint8Array;
  private kind: Uint8Array;
  /** validFrom, validTo, recordedAt, supersededAt per slot. */
  private times: Float64Array;
  private readonly slotOf = new Map<number, number>();
  /** The documents' vectors at 8 bits per dimension, when this copy holds them. */
  private readonly fine: PackedInt8Vectors | null;

  constructor(dimensions: number, fine: boolean) {
    this.packed = new PackedCodes(dimensions, 64);
    this.fine = fine ? new PackedInt8Vectors(dimensions, 64) : null;
    this.stride = this.packed.strideWords;
    this.docIds = new Float64Array(64);
    this.status = new Uint8Array(64);
    this.kind = new Uint8Array(64);
    this.times = new Float64Array(64 * 4);
  }

  /** Bytes held (the typed arrays; the slot map's entries at about 40 bytes each). */
  get bytes(): number {
    const perSlot = 8 + 1 + 1 + 32;
    return this.packed.codes.byteLength + this.docIds.length * perSlot + this.slotOf.size * 40 + (this.fine?.bytes ?? 0);
  }

  /** Inserts or replaces a document's code, vector (when this copy holds vectors) and metadata. */
  put(docId: number, code: Uint32Array, vector: ArrayLike<number> | null, meta: CodeMeta): void {
    let slot = this.slotOf.get(docId);
    if (slot === undefined) {
      if (this.size === this.docIds.length) this.grow();
      slot = this.size++;
      this.slotOf.set(docId, slot);
      this.docIds[slot] = docId;
    }
    this.packed.codes.set(code.subarray(0, this.stride), slot * this.stride);
    if (this.fine !== null) {
      // A copy with vectors is loaded with them and fed them by every write.
      if (vector === null) throw new Error(`document ${docId} has no vector for the in-memory copy`);
      this.fine.set(slot, vector);
    }
    this.status[slot] = STATUS_INDEX.get(meta.status) as number;
    this.kind[slot] = KIND_INDEX.get(meta.kind) as number;
    this.times.set([meta.validFrom, meta.validTo, meta.recordedAt, meta.supersededAt], slot * 4);
  }

  /** Changes status and validity; false when the document is not here. */
  setStatus(docId: number, status: MemoryStatus, validTo: number, supersededAt: number): boolean {
    const slot = this.slotOf.get(docId);
    if (slot === undefined) return false;
    this.status[slot] = STATUS_INDEX.get(status) as number;
    this.times[slot * 4 + 1] = validTo;
    this.times[slot * 4 + 3] = supersededAt;
    return true;
  }

  /** Removes a document (the last slot moves into its place). */
  remove(docId: number): boolean {
    const slot = this.slotOf.get(docId);
    if (slot === undefined) return false;
    this.slotOf.delete(docId);
    const last = --this.size;
    if (slot !== last) {
      const moved = this.docIds[last] as number;
      this.packed.codes.copyWithin(slot * this.stride, last * this.stride, (last + 1) * this.stride);
      this.fine?.move(last, slot);
      this.docIds[slot] = moved;
      this.status[slot] = this.status[last] as number;
      this.kind[slot] = this.kind[last] as number;
      this.times.copyWithin(slot * 4, last * 4, last * 4 + 4);
      this.slotOf.set(moved, slot);
    }
    return true;
  }

  /**
   * The `k` best documents passing the filter: the `wide` nearest by Hamming distance to the
   * query's code, re-ranked by their 8-bit vectors' approximate cosine to the query (best first).
   */
  nearest(vector: ArrayLike<number>, code: Uint32Array, wide: number, k: number, f: CompiledFilter): { docId: number; score: number }[] {
    if (this.fine === null) throw new Error('this copy of the codes holds no vectors to rank by');
    const accept = (i: number): boolean => this.passesSlot(i, f);
    const slots = nearestCodes(this.packed.scan(code, this.size), this.size, Math.max(wide, k), accept).map((h) => h.slot);
    const scores = this.fine.scores(vector, slots);
    return slots
      .map((slot, i) => ({ docId: this.docIds[slot] as number, score: scores[i] as number }))
      .sort((a, b) => b.score - a.score || a.docId - b.docId)
      .slice(0, k);
  }

  /** How many documents pass the filter, counting no further than `cap`. */
  countAtMost(f: CompiledFilter, cap: number): number {
    let n = 0;
    for (let i = 0; i < this.size && n < cap; i++) if (this.passesSlot(i, f)) n++;
    return n;
  }

  /** Whether a document is here and passes the filter. */
  passes(docId: number, f: CompiledFilter): boolean {
    const slot = this.slotOf.get(docId);
    return slot !== undefined && this.passesSlot(slot, f);
  }

  private passesSlot(i: number, f: CompiledFilter): boolean {
    const { status, kind, times } = this;
    if (!f.statuses.has(status[i] as number)) return false;
    if (f.kinds !== null && !f.kinds.has(kind[i] as number)) return false;
    if (f.validAt !== null && !((times[i * 4] as number) <= f.validAt && (times[i * 4 + 1] as number) > f.validAt)) return false;
    if (f.knownAt !== null && !((times[i * 4 + 2] as number) <= f.knownAt && (times[i * 4 + 3] as number) > f.knownAt)) return false;
    return true;
  }

  private grow(): void {
    const n = this.docIds.length * 2;
    const grown = <T extends Float64Array | Uint8Array>(a: T, size: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.packed.grow(n);
    this.fine?.grow(n);
    this.docIds = grown(this.docIds, n);
    this.status = grown(this.status, n);
    this.kind = grown(this.kind, n);
    this.times = grown(this.times, n * 4);
  }
}

/** Every code of one scope, by granularity, at the scope version it was loaded or last written at. */
export class ScopeCodes {
  private readonly partitions = new Map<Granularity, CodePartition>();
  private readonly granularityOf = new Map<number, Granularity>();
  private readonly words: number;

  constructor(
    dimensions: number,
    /** The scope's row in `vec_scope_versions` this copy matches. */
    public version: number,
    /** Whether the copy holds the documents' 8-bit vectors, which `nearest` needs. */
    readonly fine: boolean,
  ) {
    this.words = codeWords(dimensions);
    for (const g of GRANULARITIES) this.partitions.set(g, new CodePartition(dimensions, fine));
  }

  /** Documents held. */
  get size(): number {
    return this.granularityOf.size;
  }

  /** Bytes held. */
  get bytes(): number {
    let n = this.granularityOf.size * 40;
    for (const p of this.partitions.values()) n += p.bytes;
    return n;
  }

  /**
   * Fills the copy from `vec_docs` rows, with their `vec_vectors` embedding when it holds vectors
   * (a row without a code or vector is skipped: both are written before search).
   */
  load(rows: Iterable<CodeRow>): this {
    for (const r of rows) {
      const e = r.embedding ?? null;
      if (r.code === null || (this.fine && e === null)) continue;
      const vector = this.fine && e !== null ? new Float32Array(e.buffer, e.byteOffset, e.byteLength >>> 2) : null;
      this.put(r.doc_id, codeFromBytes(r.code, this.words), vector, {
        kind: r.kind,
        granularity: r.granularity,
        status: r.status,
        validFrom: r.valid_from,
        validTo: r.valid_to,
        recordedAt: r.recorded_at,
        supersededAt: r.superseded_at,
      });
    }
    return this;
  }

  /** Inserts or replaces a document (moving it if its granularity changed); `vector` is needed when the copy holds vectors. */
  put(docId: number, code: Uint32Array, vector: ArrayLike<number> | null, meta: CodeMeta): void {
    const was = this.granularityOf.get(docId);
    if (was !== undefined && was !== meta.granularity) this.partitions.get(was)?.remove(docId);
    this.partitions.get(meta.granularity)?.put(docId, code, vector, meta);
    this.granularityOf.set(docId, meta.granularity);
  }

  /** Changes a document's status and validity (absent documents are ignored). */
  setStatus(docId: number, status: MemoryStatus, validTo: number, supersededAt: number): void {
    const g = this.granularityOf.get(docId);
    if (g !== undefined) this.partitions.get(g)?.setStatus(docId, status, validTo, supersededAt);
  }

  /** Removes a document (absent documents are ignored). */
  remove(docId: number): void {
    const g = this.granularityOf.get(docId);
    if (g === undefined) return;
    this.partitions.get(g)?.remove(docId);
    this.granularityOf.delete(docId);
  }

  /**
   * Doc ids of the `k` documents most similar to `vector` that pass `filter`, best first: the
   * `wide` nearest by Hamming distance per granularity, re-ranked by their 8-bit vectors (the copy
   * must hold them). The filter must have been validated (the index's metadata clause does that).
   */
  nearest(vector: ArrayLike<number>, wide: number, k: number, filter: SearchFilter | undefined): number[] {
    const compiled = compileFilter(filter);
    const code = signCode(vector);
    const granularities = [...new Set(filter?.granularities ?? GRANULARITIES)];
    const hits = granularities.flatMap((g) => this.partitions.get(g)?.nearest(vector, code, wide, k, compiled) ?? []);
    if (granularities.length > 1) hits.sort((a, b) => b.score - a.score || a.docId - b.docId);
    return hits.slice(0, k).map((h) => h.docId);
  }

  /** How many documents pass `filter` (validated, as for `nearest`), counting no further than `cap`. */
  countAtMost(filter: SearchFilter | undefined, cap: number): number {
    const compiled = compileFilter(filter);
    let n = 0;
    for (const g of new Set(filter?.granularities ?? GRANULARITIES)) n += this.partitions.get(g)?.countAtMost(compiled, cap - n) ?? 0;
    return n;
  }

  /** A test of documents against `filter` (validated, as for `nearest`): false for a document not here. */
  filterTest(filter: SearchFilter | undefined): (docId: number) => boolean {
    const compiled = compileFilter(filter);
    return (docId) => {
      const g = this.granularityOf.get(docId);
      return g !== undefined && (this.partitions.get(g) as CodePartition).passes(docId, compiled);
    };
  }
}

/** A filter compiled to per-slot tests. */
function compileFilter(filter: SearchFilter | undefined): CompiledFilter {
  return {
    statuses: new Set((filter?.statuses ?? ['active']).map((s) => STATUS_INDEX.get(s) as number)),
    kinds: filter?.kinds === undefined ? null : new Set(filter.kinds.map((kd) => KIND_INDEX.get(kd) as number)),
    validAt: filter?.validAt === undefined ? null : Math.floor(filter.validAt),
    knownAt: filter?.knownAt === undefined ? null : Math.floor(filter.knownAt),
  };
}
