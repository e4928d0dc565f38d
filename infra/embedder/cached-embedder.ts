import type { Embedder } from '../../core/ports.js';
import { sha256Hex } from '../../core/ids.js';
import { guardSqlite, type Db } from '../sqlite/open.js';

/**
 * Wraps an embedder with a persistent cache keyed by (model, text hash), so the same text is
 * never embedded twice (retries, duplicate messages, repeated demo runs).
 */
export class CachedEmbedder implements Embedder {
  readonly modelId: string;
  readonly dimensions: number;
  hits = 0;
  misses = 0;
  private readonly getStmt;
  private readonly putStmt;

  constructor(
    private readonly inner: Embedder,
    private readonly db: Db,
    private readonly path: string,
  ) {
    this.modelId = inner.modelId;
    this.dimensions = inner.dimensions;
    guardSqlite(path, () =>
      db.exec(`CREATE TABLE IF NOT EXISTS embedding_cache (
        model TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL,
        PRIMARY KEY (model, text_hash)) WITHOUT ROWID`),
    );
    this.getStmt = db.prepare<[string, string], { vector: Buffer }>(
      'SELECT vector FROM embedding_cache WHERE model = ? AND text_hash = ?',
    );
    this.putStmt = db.prepare('INSERT OR REPLACE INTO embedding_cache (model, text_hash, vector) VALUES (?, ?, ?)');
  }

  /** Cached vectors where known; the rest embedded in one call to the inner model and stored. */
  async embed(texts: readonly string[]): Promise<number[][]> {
    const hashes = texts.map((t) => sha256Hex(t));
    const out: (number[] | undefined)[] = guardSqlite(this.path, () =>
      hashes.map((h) => {
        const row = this.getStmt.get(this.modelId, h);
        return row ? numbersOf(new Float32Array(row.vector.buffer, row.vector.byteOffset, row.vector.byteLength / 4)) : undefined;
      }),
    );
    const missing: number[] = [];
    const seen = new Map<string, number>();
    out.forEach((v, i) => {
      if (v === undefined && !seen.has(hashes[i] as string)) {
        seen.set(hashes[i] as string, missing.length);
        missing.push(i);
      }
    });
    this.hits += texts.length - missing.length;
    this.misses += missing.length;
    if (missing.length > 0) {
      const vectors = await this.inner.embed(missing.map((i) => texts[i] as string));
      guardSqlite(this.path, () =>
        this.db.transaction(() => {
          missing.forEach((i, j) => {
            const v = vectors[j] as number[];
            this.putStmt.run(this.modelId, hashes[i], Buffer.from(new Float32Array(v).buffer));
          });
        })(),
      );
      out.forEach((v, i) => {
        if (v === undefined) out[i] = vectors[seen.get(hashes[i] as string) as number];
      });
    }
    return out as number[][];
  }
}

/** The floats as plain numbers (an indexed copy: Array.from iterates, one result object per element). */
function numbersOf(floats: Float32Array): number[] {
  const out = new Array<number>(floats.length);
  for (let i = 0; i < floats.length; i++) out[i] = floats[i] as number;
  return out;
}
