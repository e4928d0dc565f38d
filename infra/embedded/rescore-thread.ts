/**
 * Exact rescoring of dense-search candidates on the second core. A query asks for three dense lists
 * (one per granularity); with the rescoring in a worker thread, this thread ranks the next list's
 * codes while the worker reads the previous list's vectors, and the model's core, idle once the
 * query is embedded, does the reading. The worker has its own read-only connection, so it sees
 * committed rows only: the index rescores in its own thread inside a transaction.
 *
 * The worker holds the process open only while a request is outstanding (idle, it is unref'd). A
 * failed worker fails its requests, and the next request starts another.
 */
import { Worker } from 'node:worker_threads';
import { StorageError } from '../../core/errors.js';

/** A candidate's exact cosine distance (null for a zero vector, similar to nothing). */
export interface Rescored {
  readonly doc: number;
  readonly distance: number | null;
}

type Reply = { id: number; docs: Float64Array; distances: Float64Array } | { id: number; error: string };

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, { resolve: (r: Rescored[]) => void; reject: (e: Error) => void }>;
}

/** A worker thread rescoring candidates against one `memory.db`. */
export class RescoreThread {
  private thread: Thread | null = null;
  private nextId = 0;

  constructor(
    private readonly path: string,
    private readonly script: URL = new URL('./rescore-worker.mjs', import.meta.url),
  ) {}

  /** Exact cosine distances of the candidates (doc ids of `vec_vectors`) to `query`, in no particular order. */
  rescore(query: Float32Array, candidates: readonly number[]): Promise<Rescored[]> {
    const thread = this.thread ?? this.start();
    const id = this.nextId++;
    thread.worker.ref();
    return new Promise<Rescored[]>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ id, query, candidates: JSON.stringify(candidates) });
    });
  }

  /** Stops the worker, if any (a later request starts a new one). */
  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    await thread?.worker.terminate();
  }

  private start(): Thread {
    // No inherited loader flags: the worker is plain JavaScript.
    const worker = new Worker(this.script, { workerData: { path: this.path }, execArgv: [] });
    const thread: Thread = { worker, pending: new Map() };
    const { pending } = thread;
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) worker.unref();
      if ('error' in reply) {
        p.reject(new StorageError(`rescoring in ${this.path} failed: ${reply.error}`));
        return;
      }
      const out: Rescored[] = new Array<Rescored>(reply.docs.length);
      for (let i = 0; i < reply.docs.length; i++) {
        const d = reply.distances[i] as number;
        out[i] = { doc: reply.docs[i] as number, distance: Number.isNaN(d) ? null : d };
      }
      p.resolve(out);
    });
    const fail = (err: Error): void => {
      if (this.thread === thread) this.thread = null;
      const waiting = [...pending.values()];
      pending.clear();
      for (const p of waiting) p.reject(err);
    };
    worker.on('error', (cause) => fail(new StorageError(`the rescoring worker failed: ${cause.message}`, { cause })));
    worker.on('exit', (code) => fail(new StorageError(`the rescoring worker exited (code ${code})`)));
    this.thread = thread;
    return thread;
  }
}
