/**
 * The baseline the issue compares with: BM25 over raw turns (SQLite FTS5, porter stemming), one
 * index per conversation, queried with the question's words OR-ed together.
 */
import Database from 'better-sqlite3';
import { toFtsQuery } from '../../infra/embedded/vector-index.js';

/** A turn as the baseline indexes it. */
export interface BaselineTurn {
  readonly id: string;
  readonly text: string;
}

/** An in-memory BM25 index over one conversation's turns. */
export class TurnBm25 {
  private readonly db = new Database(':memory:');
  private readonly query;

  constructor(turns: readonly BaselineTurn[]) {
    this.db.exec(`CREATE VIRTUAL TABLE turns USING fts5(id UNINDEXED, text, tokenize = 'porter unicode61')`);
    const insert = this.db.prepare('INSERT INTO turns (id, text) VALUES (?, ?)');
    this.db.transaction(() => {
      for (const t of turns) insert.run(t.id, t.text);
    })();
    this.query = this.db.prepare<[string, number], { id: string }>('SELECT id FROM turns WHERE turns MATCH ? ORDER BY bm25(turns), id LIMIT ?');
  }

  /** Turn ids, best first, at most `k`. */
  search(question: string, k: number): string[] {
    const match = toFtsQuery(question);
    return match === null ? [] : this.query.all(match, k).map((r) => r.id);
  }

  close(): void {
    this.db.close();
  }
}
