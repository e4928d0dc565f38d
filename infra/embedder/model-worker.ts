/**
 * The sentence encoder in a worker thread, seen from the main thread: batches are posted to the
 * worker (which loads the model once and works on one batch at a time, in order) and the vectors
 * come back as one transferred Float32Array per batch. The main thread keeps running the pipeline
 * (extraction, clustering, projections) while the model computes.
 *
 * The worker holds the process open only while a request is outstanding: idle, it is unref'd, so a
 * CLI command or a test that never calls `close()` still exits. `close()` terminates it; a later
 * call starts a new one.
 */
import { Worker } from 'node:worker_threads';
import { EmbedderError } from '../../core/errors.js';

/** One batch of texts in, one vector per text out; calls may overlap and are served in order. */
export interface SentenceModel {
  embed(texts: readonly string[]): Promise<readonly ArrayLike<number>[]>;
  /** Releases what the model holds (a no-op for the shared in-thread model). */
  close(): Promise<void>;
}

/** The worker script shipped next to this file. */
export const USE_LITE_WORKER = new URL('./use-lite.worker.mjs', import.meta.url);

type Reply =
  | { readonly id: number; readonly ok: true }
  | { readonly id: number; readonly error: string; readonly stage: 'load' | 'embed' }
  | { readonly id: number; readonly count: number; readonly dims: number; readonly ragged: boolean; readonly flat: Float32Array };

interface Pending {
  readonly resolve: (reply: Reply) => void;
  readonly reject: (err: Error) => void;
}

/** One worker thread and the requests it has not answered yet. */
interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/** A sentence encoder running in its own worker thread (started on first use). */
export class ModelWorker implements SentenceModel {
  private thread: Thread | null = null;
  /** The model's load in the current worker, asked once (a new worker asks again). */
  private loaded: Promise<void> | null = null;
  private nextId = 0;

  /** `script` is the worker's module (tests pass a stand-in that fails on purpose). */
  constructor(private readonly script: URL = USE_LITE_WORKER) {}

  /** Resolves once the model is loaded in the worker; a load failure is a non-retriable EmbedderError. */
  load(): Promise<void> {
    // Once per worker: a load request queued behind other callers' batches would hold this caller up.
    if (!this.loaded) {
      const loading: Promise<void> = this.request({ op: 'load' }).then(
        () => undefined,
        (err: unknown) => {
          if (this.loaded === loading) this.loaded = null;
          throw err;
        },
      );
      this.loaded = loading;
    }
    return this.loaded;
  }

  /** One vector per text (views into one Float32Array), in input order. */
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const reply = await this.request({ op: 'embed', texts: [...texts] });
    if (!('flat' in reply)) throw new EmbedderError('the embedding worker answered an embed request without vectors');
    if (reply.ragged) {
      throw new EmbedderError(`the model returned vectors of unequal lengths for ${texts.length} texts`, { retriable: false });
    }
    return Array.from({ length: reply.count }, (_, i) => reply.flat.subarray(i * reply.dims, (i + 1) * reply.dims));
  }

  /** Terminates the worker (outstanding requests fail with a retriable EmbedderError). */
  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    this.loaded = null;
    if (thread) await thread.worker.terminate();
  }

  /** True while a worker thread exists (for tests of the life cycle). */
  get running(): boolean {
    return this.thread !== null;
  }

  private request(msg: { op: 'load' } | { op: 'embed'; texts: string[] }): Promise<Reply> {
    const { worker, pending } = this.thread ?? this.start();
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      // Outstanding work keeps the process alive until it is answered.
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...msg });
    }).then((reply) => {
      if (!('error' in reply)) return reply;
      if (reply.stage === 'load') {
        throw new EmbedderError(`cannot load the offline sentence encoder: ${reply.error}`, { retriable: false });
      }
      // The caller (UseLiteEmbedder) turns this into an EmbedderError with the batch size.
      throw new Error(reply.error);
    });
  }

  private start(): Thread {
    // No inherited loader flags: the worker is plain JavaScript.
    const worker = new Worker(this.script, { execArgv: [] });
    const thread: Thread = { worker, pending: new Map() };
    const { pending } = thread;
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) worker.unref();
      p.resolve(reply);
    });
    /** This worker is gone (or unusable): its requests fail, and the next request starts another. */
    const fail = (err: EmbedderError): void => {
      if (this.thread === thread) {
        this.thread = null;
        this.loaded = null;
      }
      const waiting = [...pending.values()];
      pending.clear();
      for (const p of waiting) p.reject(err);
    };
    worker.on('error', (cause) => fail(new EmbedderError(`the embedding worker failed: ${cause.message}`, { cause })));
    worker.on('messageerror', (cause) => {
      fail(new EmbedderError(`the embedding worker sent an unreadable message: ${cause.message}`, { cause }));
      void worker.terminate();
    });
    worker.on('exit', (code) => fail(new EmbedderError(`the embedding worker exited (code ${code})`)));
    this.thread = thread;
    return thread;
  }
}
