/**
 * The offline encoder in a worker thread: the same vectors as in the caller's thread, the same
 * call count, failures as EmbedderError (retriable or not, as in-thread), and a life cycle that
 * never keeps a process open (idle workers are unref'd; close() and Engine.close() end them).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { EmbedderError } from '../../core/errors.js';
import { cosine } from '../../core/text.js';
import { loadConfig } from '../../infra/config.js';
import { Engine } from '../../apps/engine.js';
import { ModelWorker } from '../../infra/embedder/model-worker.js';
import { UseLiteEmbedder } from '../../infra/embedder/use-lite.js';
import { removeDir, tempDir } from '../helpers/engine.js';

const standIn = new URL('./fixtures/stand-in-model.worker.mjs', import.meta.url);
const noModel = new URL('./fixtures/no-model.worker.mjs', import.meta.url);

const LONG = 'In this session Maya talked about hiking in the Alps, her new job at the library, and the trip to Oslo she is planning with her sister Emma in June.';
const TEXTS = [LONG, 'ok', 'I live in Lisbon.', '', '   ', LONG.slice(0, 70), 'My dog is called Pico.', 'Ich wohne in Berlin.'];

test('the worker thread gives exactly the vectors and call count of the in-thread model', async (t) => {
  const worker = new UseLiteEmbedder();
  const main = new UseLiteEmbedder({ thread: 'main' });
  t.teardown(() => worker.close());
  // Several model batches (32 texts each), in an order the length sort changes.
  const many = Array.from({ length: 70 }, (_, i) => `${TEXTS[i % TEXTS.length] as string}${i % 3 === 0 ? '' : ` #${i}`}`);
  const fromWorker = await worker.embed(many);
  const fromMain = await main.embed(many);
  t.is(fromWorker.length, many.length);
  t.true(fromWorker.every((v) => v.length === 512 && v.every((x) => Number.isFinite(x) && Math.fround(x) === x)));
  t.deepEqual(fromWorker, fromMain);
  t.is(worker.calls, 3);
  t.is(main.calls, 3);
  t.deepEqual(await worker.embed([]), []);
  t.is(worker.calls, 3, 'nothing to embed calls nothing');
});

test('concurrent calls share the worker and each gets its own vectors', async (t) => {
  const model = new UseLiteEmbedder();
  t.teardown(() => model.close());
  const [a, b, alone] = await Promise.all([model.embed(TEXTS.slice(0, 4)), model.embed(TEXTS.slice(4)), model.embed([TEXTS[5] as string])]);
  const all = await model.embed(TEXTS);
  // Batch mates change a vector only by float rounding: each must be its own text's.
  const same = (x: number[] | undefined, y: number[] | undefined): boolean => cosine(x ?? [], y ?? []) > 0.99999;
  t.true([...a, ...b].every((v, i) => same(v, all[i])));
  t.true(same(alone[0], all[5]));
  t.false(same(all[0], all[1]));
});

test('a failing model call is a retriable EmbedderError, and the worker keeps serving', async (t) => {
  const model = new UseLiteEmbedder({ workerScript: standIn });
  t.teardown(() => model.close());
  const err = await t.throwsAsync(model.embed(['fine', 'boom']), { instanceOf: EmbedderError });
  t.true(err.retriable);
  t.regex(err.message, /embedding 2 texts failed: the model threw/);
  t.is((await model.embed(['fine again'])).length, 1);
});

test('a model that cannot load is a non-retriable EmbedderError, as in-thread', async (t) => {
  const model = new UseLiteEmbedder({ workerScript: noModel });
  t.teardown(() => model.close());
  const err = await t.throwsAsync(model.embed(['hello']), { instanceOf: EmbedderError });
  t.false(err.retriable);
  t.regex(err.message, /cannot load the offline sentence encoder: model files missing/);
  t.is(model.calls, 0);
});

test('vectors of the wrong size are a non-retriable EmbedderError', async (t) => {
  const model = new UseLiteEmbedder({ workerScript: standIn });
  t.teardown(() => model.close());
  const err = await t.throwsAsync(model.embed(['short']), { instanceOf: EmbedderError });
  t.false(err.retriable);
});

test('a worker that dies fails its outstanding calls with a retriable EmbedderError; the next call starts a new one', async (t) => {
  const worker = new ModelWorker(standIn);
  t.teardown(() => worker.close());
  for (const fatal of ['crash', 'exit']) {
    const pending = [worker.embed([fatal]), worker.embed(['queued behind it'])];
    for (const p of pending) {
      const err = await t.throwsAsync(p, { instanceOf: EmbedderError });
      t.true(err.retriable, fatal);
    }
    t.false(worker.running);
    t.is((await worker.embed(['after'])).length, 1);
    t.true(worker.running);
  }
});

test('close() ends the worker, outstanding calls fail retriably, and a later call starts it again', async (t) => {
  const model = new UseLiteEmbedder({ workerScript: standIn });
  t.false(model.running, 'started lazily');
  await model.embed(['one']);
  t.true(model.running);
  await model.close();
  t.false(model.running);
  t.is((await model.embed(['two'])).length, 1);
  t.true(model.running);
  const worker = new ModelWorker(standIn);
  await worker.load();
  const outstanding = worker.embed(['three']);
  await worker.close();
  // Answered before the terminate took effect, or failed by it: never left hanging.
  await outstanding.then(
    (vectors) => t.is(vectors.length, 1),
    (err: unknown) => t.true(err instanceof EmbedderError && err.retriable),
  );
  await model.close();
});

test('Engine.close() ends the model worker', async (t) => {
  const dir = tempDir('engram-embedworker-');
  t.teardown(() => removeDir(dir));
  const model = new UseLiteEmbedder({ workerScript: standIn });
  const engine = await Engine.open(loadConfig({}, { dataDir: dir }), { embedder: model });
  await engine.ports.embedder.embed(['hello']);
  t.true(model.running);
  await engine.close();
  t.false(model.running);
});

for (const which of ['stand-in', 'real']) {
  test(`a process that never closes its embedder still exits (${which} model)`, async (t) => {
    const child = fileURLToPath(new URL('./fixtures/embed-and-exit.ts', import.meta.url));
    // A worker holding the process open would hang here until the timeout kills it.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, which], { timeout: 60_000 });
    t.is(stdout.trim(), '512 running');
  });
}
