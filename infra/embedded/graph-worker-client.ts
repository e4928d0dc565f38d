/**
 * The graph projection's writer and checkpoints, served by a LadybugDB graph in a child process
 * (graph-worker.ts): a rebuild then writes the graph on the second core while this process decodes
 * and writes memory.db. Operations travel in memory over the IPC channel (no file ever holds memory
 * text) and are applied in the order they were sent. A process, not a worker thread: LadybugDB's
 * addon corrupts its heap when two threads of one process use it. The caller must have closed the
 * database here first (LadybugDB locks its file per process; see `LadybugMemoryGraph.lend`).
 * Messages go through a relay thread (graph-relay.worker.mjs), which writes them to the process
 * while this thread is busy with memory.db.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DataDirError, EngramError, StorageError, ValidationError } from '../../core/errors.js';
import type { AssociationLink } from '../../core/model.js';
import type { CheckpointStore, GraphMemory, GraphOp } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import type { GraphWorkerReply, GraphWorkerRequest, WorkerError } from './graph-worker-protocol.js';

/** The worker's bootstrap module (it registers the TypeScript loader, then loads graph-worker.ts). */
export const GRAPH_WORKER = new URL('./graph-worker.mjs', import.meta.url);

/** The relay thread between this thread and the worker process. */
const RELAY = new URL('./graph-relay.worker.mjs', import.meta.url);

/** What the relay thread reports. */
type RelayEvent =
  | { readonly kind: 'reply'; readonly reply: GraphWorkerReply }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'exit'; readonly code: number | null; readonly signal: string | null };

/** Distributes `Omit` over a union (the built-in one collapses it). */
type Unsent<T> = T extends unknown ? Omit<T, 'id'> : never;

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
}

/** Pure: the error a worker reported, as the class it was in the worker where that class is known. */
export function reviveWorkerError(e: WorkerError): Error {
  const details = e.details ?? {};
  if (e.code === undefined || e.retriable === undefined) return new Error(e.message);
  switch (e.name) {
    case 'ValidationError':
      return new ValidationError(e.message, details);
    case 'StorageError':
      return new StorageError(e.message, { retriable: e.retriable, details });
    case 'DataDirError':
      return new DataDirError(e.message, { retriable: e.retriable, details });
    default:
      return new EngramError(e.message, { code: e.code, retriable: e.retriable, details });
  }
}

/** GraphWriter and CheckpointStore over the graph worker process. */
export class GraphWorkerClient implements CheckpointStore {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;
  private readonly exited: Promise<void>;
  private gone = false;

  private constructor(private readonly relay: Worker) {
    let processExited!: () => void;
    const processGone = new Promise<void>((resolve) => (processExited = resolve));
    relay.on('message', (event: RelayEvent) => {
      if (event.kind === 'reply') {
        const { reply } = event;
        const p = this.pending.get(reply.id);
        if (p === undefined) return;
        this.pending.delete(reply.id);
        if (reply.ok) p.resolve(reply.value);
        else p.reject(reviveWorkerError(reply.error));
      } else if (event.kind === 'error') {
        this.fail(new StorageError(`the graph worker failed: ${event.message}`));
      } else {
        this.gone = true;
        this.fail(new StorageError(`the graph worker exited (${event.signal ?? `code ${event.code}`})`));
        processExited();
      }
    });
    relay.on('error', (cause) => this.fail(new StorageError(`the graph worker's relay failed: ${cause.message}`, { cause })));
    const relayExited = new Promise<void>((resolve) => relay.once('exit', () => resolve()));
    // Done when the process has exited (its file lock released) and the relay thread is gone.
    this.exited = Promise.race([processGone, relayExited]).then(async () => {
      this.fail(new StorageError('the graph worker is gone'));
      await relay.terminate();
    });
  }

  /** Starts a worker process and opens the graph database of directory `dir` in it. */
  static async start(dir: string, script: URL = GRAPH_WORKER): Promise<GraphWorkerClient> {
    // No inherited loader flags (the bootstrap registers the one it needs); V8 serialization keeps
    // numbers, nulls and nested lists as they are.
    const client = new GraphWorkerClient(new Worker(RELAY, { workerData: { script: fileURLToPath(script), dir }, execArgv: [] }));
    try {
      await client.request({ op: 'open' });
    } catch (err) {
      await client.kill();
      throw err;
    }
    return client;
  }

  applyOps(ops: readonly GraphOp[]): Promise<void> {
    return ops.length === 0 ? Promise.resolve() : this.void({ op: 'applyOps', ops });
  }

  upsertMemory(scope: Scope, memory: GraphMemory): Promise<void> {
    return this.applyOps([{ op: 'upsert', scope, memory }]);
  }

  setStatus(scope: Scope, memoryId: string, status: GraphMemory['status'], validTo: number | null, supersededAt: number | null): Promise<void> {
    return this.applyOps([{ op: 'status', scope, memoryId, status, validTo, supersededAt }]);
  }

  link(scope: Scope, memoryId: string, links: readonly AssociationLink[]): Promise<void> {
    return this.applyOps([{ op: 'link', scope, memoryId, links }]);
  }

  removeMemory(scope: Scope, memoryId: string): Promise<void> {
    return this.applyOps([{ op: 'remove', scope, memoryId }]);
  }

  /** Drops every memory, entity and message (checkpoints stay). */
  clear(): Promise<void> {
    return this.void({ op: 'clear' });
  }

  /** Rewrites the database with only its live data (after an erasure). */
  compact(): Promise<void> {
    return this.void({ op: 'compact' });
  }

  async checkpoint(projector: string, topic: string, partition: number): Promise<number> {
    return (await this.request({ op: 'checkpoint', projector, topic, partition })) as number;
  }

  saveCheckpoint(projector: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    return this.void({ op: 'saveCheckpoint', projector, topic, partition, nextOffset });
  }

  /** Forgets every checkpoint of a projector. */
  reset(projector: string): Promise<void> {
    return this.void({ op: 'reset', projector });
  }

  /** Checkpoints and closes the graph, then waits for the process to end (after a failure, ends it). */
  async close(): Promise<void> {
    if (this.failure !== null) return this.kill();
    try {
      await this.request({ op: 'close' });
    } catch (err) {
      await this.kill();
      throw err;
    }
    // It exits by itself once its channel is closed; the database file's lock goes with it.
    await this.exited;
  }

  /** Ends the process now (its last committed transactions are in the graph's log). */
  private async kill(): Promise<void> {
    if (!this.gone) this.relay.postMessage('kill');
    await this.exited;
  }

  /** Every outstanding and later request fails with `err`. */
  private fail(err: Error): void {
    this.failure ??= err;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.reject(err);
  }

  private async void(msg: Unsent<GraphWorkerRequest>): Promise<void> {
    await this.request(msg);
  }

  private request(msg: Unsent<GraphWorkerRequest>): Promise<unknown> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.relay.postMessage({ id, ...msg });
    });
  }
}
