/**
 * The graph worker process: owns a LadybugMemoryGraph opened on the directory it is given and
 * serves the projector's writes and checkpoints sent by `GraphWorkerClient`, one at a time, in
 * order. Batches arrive in memory over the IPC channel (V8 serialization), never through files.
 * A process, not a worker thread: LadybugDB's native addon corrupts its heap when two threads of
 * one process use it, even one after the other. Its automatic checkpoints are off until `close`,
 * which checkpoints once (a rebuild writes the whole graph), and after a `clear` it follows the
 * graph's nodes in memory (`beginRebuild`).
 */
import { EngramError } from '../../core/errors.js';
import { LadybugMemoryGraph } from './memory-graph.js';
import type { GraphWorkerReply, GraphWorkerRequest, WorkerError } from './graph-worker-protocol.js';

/** What an error becomes on the way back: its class name, code and whether a retry may pass. */
function wireError(err: unknown): WorkerError {
  if (err instanceof EngramError) {
    return { name: err.name, message: err.message, code: err.code, retriable: err.retriable, details: { ...err.details } };
  }
  return { name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) };
}

const send = process.send?.bind(process);
if (send === undefined) throw new Error('graph-worker.ts runs only as a child process with an IPC channel');
const dir = process.argv[2] as string;
// The parent gone (crashed or killed), nothing is left to serve: the graph's log keeps what committed.
process.on('disconnect', () => process.exit(0));

let graph: LadybugMemoryGraph | null = null;
/** Resolves the deferred-checkpoint scope opened at `open`, so that `close` checkpoints once. */
let finish: (() => void) | null = null;
let deferred: Promise<void> = Promise.resolve();

async function handle(req: GraphWorkerRequest): Promise<unknown> {
  if (req.op === 'open') {
    graph = await LadybugMemoryGraph.open(dir);
    const g = graph;
    let ready!: () => void;
    const started = new Promise<void>((resolve) => (ready = resolve));
    deferred = g.deferCheckpoints(() => {
      ready();
      return new Promise<void>((resolve) => (finish = resolve));
    });
    await Promise.race([started, deferred]);
    return null;
  }
  const g = graph;
  if (g === null) throw new Error(`graph worker: ${req.op} before open`);
  switch (req.op) {
    case 'applyOps':
      return g.applyOps(req.ops);
    case 'clear':
      await g.clear();
      // This thread is the graph's one writer while it runs: from the empty graph on, batches
      // follow its nodes in memory instead of looking them up.
      return g.beginRebuild();
    case 'compact':
      return g.compact();
    case 'checkpoint':
      return g.checkpoint(req.projector, req.topic, req.partition);
    case 'saveCheckpoint':
      return g.saveCheckpoint(req.projector, req.topic, req.partition, req.nextOffset);
    case 'reset':
      return g.reset(req.projector);
    case 'close':
      finish?.();
      try {
        await deferred;
      } finally {
        graph = null;
        await g.close();
      }
      return null;
  }
}

let queue: Promise<unknown> = Promise.resolve();
process.on('message', (req: GraphWorkerRequest) => {
  queue = queue.then(async () => {
    let reply: GraphWorkerReply;
    try {
      reply = { id: req.id, ok: true, value: await handle(req) };
    } catch (err) {
      reply = { id: req.id, ok: false, error: wireError(err) };
    }
    // After the answer to `close` is written, the channel closes and the process ends.
    send(reply, undefined, undefined, () => {
      if (req.op === 'close') process.disconnect();
    });
  });
});
