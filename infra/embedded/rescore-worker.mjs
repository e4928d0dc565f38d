// The rescoring thread of dense search (rescore-thread.ts): exact cosine distances of candidate
// vectors, read through its own read-only connection to memory.db. Plain JavaScript, so that the
// worker starts without the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';

const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
sqliteVec.load(db);
db.pragma('busy_timeout = 5000');
// The same statement as the index's in-thread rescoring: candidates first, each vector by key.
const rescore = db.prepare(
  `SELECT c.value AS doc, vec_distance_cosine(v.embedding, ?) AS distance
   FROM json_each(?) AS c CROSS JOIN vec_vectors v ON v.doc_id = c.value`,
);

parentPort.on('message', ({ id, query, candidates }) => {
  try {
    const rows = rescore.all(query, candidates);
    const docs = new Float64Array(rows.length);
    // NaN stands for a NULL distance (a zero vector).
    const distances = new Float64Array(rows.length);
    rows.forEach((r, i) => {
      docs[i] = r.doc;
      distances[i] = r.distance ?? Number.NaN;
    });
    parentPort.postMessage({ id, docs, distances }, [docs.buffer, distances.buffer]);
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
