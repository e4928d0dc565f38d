/**
 * Copies a SQLite database's write-ahead log into the file from another thread while a bulk load
 * (a rebuild) writes it with automatic checkpoints off: the copy and its fsyncs then overlap the
 * load instead of all coming at its end, and the log stays short. PASSIVE checkpoints never block
 * the writer. The writer's own checkpoint at the end (TRUNCATE) still runs, after `stop`.
 */
import { Worker } from 'node:worker_threads';

/** The checkpointer's thread (plain JavaScript). */
const SCRIPT = new URL('./wal-checkpointer.worker.mjs', import.meta.url);

/** A running background checkpointer; `stop` ends it (its connection closed) and resolves. */
export interface WalCheckpointer {
  stop(): Promise<void>;
}

/** Starts checkpointing the database at `path` every `intervalMs` from a worker thread. */
export function startWalCheckpointer(path: string, intervalMs = 200): WalCheckpointer {
  const worker = new Worker(SCRIPT, { workerData: { path, intervalMs }, execArgv: [] });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // A failed checkpointer only costs speed: the writer's final checkpoint copies everything.
  worker.on('error', () => undefined);
  let stopping: Promise<void> | null = null;
  return {
    stop(): Promise<void> {
      stopping ??= (async () => {
        const stopped = new Promise<void>((resolve) => worker.once('message', () => resolve()));
        worker.postMessage('stop');
        await Promise.race([stopped, exited]);
        await worker.terminate();
        await exited;
      })();
      return stopping;
    },
  };
}
