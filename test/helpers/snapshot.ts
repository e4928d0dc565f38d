import { createHash } from 'node:crypto';
import { join } from 'node:path';
import lbug from '@ladybugdb/core';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { GRAPH_FILE } from '../../infra/embedded/memory-graph.js';
import { DATA_FILES } from '../../infra/profile/embedded.js';

const json = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : Buffer.isBuffer(x) ? x.toString('base64') : x));

/** Every row of every projection table of memory.db (checkpoints and metadata excluded), sorted. */
export function memoryDbRows(dataDir: string): Record<string, string[]> {
  const db = new Database(join(dataDir, DATA_FILES.memory), { readonly: true });
  sqliteVec.load(db);
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
      .all() as { name: string }[];
    const out: Record<string, string[]> = {};
    for (const { name } of tables) {
      // Shadow tables of FTS5 and vec0 hold the same data as their owners, in an internal layout.
      if (/^(projector_checkpoints|engram_meta|vec_scope_versions|sqlite_)/.test(name) || /_(data|idx|docsize|config|content|chunks|rowids|info|auxiliary|vector_chunks\d+|metadatachunks\d+|metadatatext\d+)$/.test(name)) continue;
      out[name] = (db.prepare(`SELECT * FROM "${name}"`).all() as unknown[]).map(json).sort();
    }
    out['vec_memories'] = (db.prepare('SELECT rowid, * FROM vec_memories').all() as unknown[]).map(json).sort();
    out['fts_memories'] = (db.prepare('SELECT rowid, * FROM fts_memories').all() as unknown[]).map(json).sort();
    return out;
  } finally {
    db.close();
  }
}

/** Every node and edge of the graph (engine closed), keyed by node keys, internal ids dropped, sorted. */
export async function graphRows(dataDir: string): Promise<string[]> {
  const db = new lbug.Database(join(dataDir, DATA_FILES.graph, GRAPH_FILE), 64 * 1024 * 1024, true, true, 2 ** 32);
  const conn = new lbug.Connection(db);
  const all = async (q: string): Promise<Record<string, unknown>[]> => {
    const res = await conn.query(q);
    const results = Array.isArray(res) ? res : [res];
    const rows: Record<string, unknown>[] = [];
    for (const r of results) {
      rows.push(...((await r.getAll()) as Record<string, unknown>[]));
      r.close();
    }
    return rows;
  };
  const strip = (v: unknown): unknown =>
    v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('_'))) : v;
  try {
    const nodes = (await all('MATCH (n) RETURN n')).map((r) => json(strip(r['n'])));
    const edges = (await all('MATCH (a)-[r]->(b) RETURN a.key AS a, b.key AS b, r')).map((r) =>
      json({ a: r['a'], b: r['b'], r: strip(r['r']) }),
    );
    return [...nodes.filter((n) => !n.includes('"projector"')), ...edges].sort();
  } finally {
    await conn.close();
    await db.close();
  }
}

/** A hash of everything the projections hold. */
export async function projectionHash(dataDir: string): Promise<{ hash: string; memoryDb: Record<string, string[]>; graph: string[] }> {
  const memoryDb = memoryDbRows(dataDir);
  const graph = await graphRows(dataDir);
  return { hash: createHash('sha256').update(json({ memoryDb, graph })).digest('hex'), memoryDb, graph };
}
