// The Universal Sentence Encoder lite inside a worker thread (see model-worker.ts, which starts
// it). Plain JavaScript on purpose: it must load without the TypeScript loader, whatever way the
// process was started (tsx CLI, `--import tsx`, or bin/engram.js registering tsx at run time).
//
// Protocol (one request at a time is worked on; requests queue in arrival order):
//   in:  { id, op: 'load' }                 -> { id, ok: true } once the model is ready
//   in:  { id, op: 'embed', texts: [...] }  -> { id, count, dims, ragged, flat } (flat: a
//        transferred Float32Array of count × dims; ragged when the vectors had unequal lengths)
//   any failure                             -> { id, error: message, stage: 'load' | 'embed' }
import { parentPort } from 'node:worker_threads';
import { loadEncoder } from './use-lite-encoder.mjs';

if (!parentPort) throw new Error('use-lite.worker.mjs runs as a worker thread');
const port = parentPort;

/** @type {Promise<{ embed(input: string[]): Promise<number[][]> }> | null} */
let model = null;

/** Loads the encoder once; a failed load is forgotten so that a later request tries again. */
function load() {
  model ??= loadEncoder().catch((err) => {
    model = null;
    throw err;
  });
  return model;
}

const messageOf = (err) => (err instanceof Error ? err.message : String(err));

/** Works on one request; never throws (every failure is answered). */
async function handle(msg) {
  let m;
  try {
    m = await load();
  } catch (err) {
    port.postMessage({ id: msg.id, error: messageOf(err), stage: 'load' });
    return;
  }
  if (msg.op === 'load') {
    port.postMessage({ id: msg.id, ok: true });
    return;
  }
  try {
    const vectors = await m.embed(msg.texts);
    const dims = vectors.length > 0 ? vectors[0].length : 0;
    const ragged = vectors.some((v) => v.length !== dims);
    const flat = new Float32Array(ragged ? 0 : vectors.length * dims);
    if (!ragged) vectors.forEach((v, i) => flat.set(v, i * dims));
    // The buffer moves to the main thread instead of being copied.
    port.postMessage({ id: msg.id, count: vectors.length, dims, ragged, flat }, [flat.buffer]);
  } catch (err) {
    port.postMessage({ id: msg.id, error: messageOf(err), stage: 'embed' });
  }
}

// One request at a time, in order: the model is not shared between concurrent executions.
let queue = Promise.resolve();
port.on('message', (msg) => {
  queue = queue
    .then(() => handle(msg))
    .catch((err) => {
      // Answering failed (postMessage threw): answer with the error, so no caller waits forever.
      port.postMessage({ id: msg.id, error: messageOf(err), stage: 'embed' });
    });
});
