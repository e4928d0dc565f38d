/**
 * The durable runner's multi-workflow scheduling (`runBatches`: rounds, two batches in flight,
 * shared-store activities one at a time, log appends in the one-by-one order, failures) and its
 * journal encoding (float32 arrays packed, exactly a JSON round trip, old journals still read).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import type { WorkflowContext } from '../../infra/embedded/durable-runner.js';
import { decodeJournalValue, DurableRunner, encodeJournalValue } from '../../infra/embedded/durable-runner.js';

function withRunner(t: ExecutionContext): { runner: DurableRunner; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const file = path.join(dir, 'runner.sqlite');
  let tick = 1_000;
  const runner = DurableRunner.open(file, { clock: { now: () => (tick += 1) } });
  t.teardown(() => {
    runner.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { runner, file };
}

/** A promise with its resolve function outside. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Activities shaped like the pipeline's: `prepare` and `store` share state (one at a time),
 * `model` works elsewhere (parallel; each call waits for its gate), `append` writes to a log
 * (ordered). Records the order of events and how many calls of each kind ran at once.
 */
function pipeline() {
  const events: string[] = [];
  const log: string[] = [];
  const active = { shared: 0, maxShared: 0, model: 0, maxModel: 0 };
  const gates = new Map<string, Promise<void>>();
  const executed = { prepare: 0, model: 0, store: 0, append: 0 };
  const shared = async (what: string): Promise<void> => {
    active.shared++;
    active.maxShared = Math.max(active.maxShared, active.shared);
    await tick();
    events.push(what);
    active.shared--;
  };
  const activities = {
    async prepare(wf: string): Promise<string> {
      executed.prepare++;
      await shared(`prepare ${wf}`);
      return wf;
    },
    async model(key: string): Promise<number[]> {
      executed.model++;
      active.model++;
      active.maxModel = Math.max(active.maxModel, active.model);
      await (gates.get(key) ?? tick());
      active.model--;
      events.push(`model ${key}`);
      return Array.from({ length: 32 }, (_, i) => Math.fround(i / 7));
    },
    async store(wf: string): Promise<void> {
      executed.store++;
      await shared(`store ${wf}`);
    },
    async append(key: string): Promise<number> {
      executed.append++;
      log.push(key);
      return log.length;
    },
  };
  type Acts = typeof activities;
  const fn = async (ctx: WorkflowContext<number, { n: number }, Acts>): Promise<number> => {
    const key = `${ctx.workflowId}#${ctx.batchSeq}`;
    await ctx.activities.prepare(ctx.workflowId);
    const vector = await ctx.activities.model(key);
    if (vector.length !== 32) throw new Error('bad vector');
    await ctx.activities.store(ctx.workflowId);
    await ctx.activities.append(key);
    return (ctx.state ?? 0) + ctx.inputs.length;
  };
  return { events, log, active, gates, executed, activities, fn };
}

const signalN = (runner: DurableRunner, wf: string, n: number): void => {
  runner.signal(
    wf,
    Array.from({ length: n }, (_, i) => ({ id: `${wf}-${i}`, payload: { n: i } })),
  );
};

const OPTS = { concurrency: 2, parallel: ['model'] as const, ordered: ['append'] as const };

test('every workflow runs until its inbox is empty, in rounds, and appends land in the one-by-one order', async (t) => {
  const { runner } = withRunner(t);
  const p = pipeline();
  signalN(runner, 'a', 5);
  signalN(runner, 'b', 1);
  signalN(runner, 'c', 3);
  const done: string[] = [];
  const r = await runner.runBatches(runner.pending(), p.fn, p.activities, 2, {
    ...OPTS,
    parallel: [...OPTS.parallel],
    ordered: [...OPTS.ordered],
    onBatch: (wf, res) => {
      done.push(`${wf}:${res.inputs}`);
    },
  });
  t.deepEqual(r, { ran: 6, inputs: 9 });
  t.deepEqual(p.log, ['a#1', 'b#1', 'c#1', 'a#2', 'c#2', 'a#3']);
  t.deepEqual(done, ['a:2', 'b:1', 'c:2', 'a:2', 'c:1', 'a:1']);
  t.deepEqual(runner.pending(), []);
  t.is(runner.state<number>('a'), 5);
  t.is(runner.pendingInputs(), 0);
  t.is(p.active.maxShared, 1, 'shared-store activities never overlapped');
});

test('a later batch that reaches its append first waits for the earlier one; the model overlaps the rest', async (t) => {
  const { runner } = withRunner(t);
  const p = pipeline();
  signalN(runner, 'a', 1);
  signalN(runner, 'b', 1);
  // The model is slow on a's batch and quick on b's: b is ready to append long before a.
  const slow = deferred();
  p.gates.set('a#1', slow.promise);
  const run = runner.runBatches(['a', 'b'], p.fn, p.activities, 8, { ...OPTS, parallel: ['model'], ordered: ['append'] });
  while (!p.events.includes('store b')) await tick();
  t.deepEqual(p.log, [], 'b waits for a before appending');
  t.is(p.active.maxModel, 2, "b's model call ran while a's was still running");
  slow.resolve();
  await run;
  t.deepEqual(p.log, ['a#1', 'b#1']);
  t.deepEqual(p.events, ['prepare a', 'prepare b', 'model b#1', 'store b', 'model a#1', 'store a']);
});

test('the second batch starts only once the first waits on the model', async (t) => {
  const { runner } = withRunner(t);
  const p = pipeline();
  signalN(runner, 'a', 1);
  signalN(runner, 'b', 1);
  const slow = deferred();
  p.gates.set('a#1', slow.promise);
  const run = runner.runBatches(['a', 'b'], p.fn, p.activities, 8, { ...OPTS, parallel: ['model'], ordered: ['append'] });
  while (!p.events.includes('prepare b')) await tick();
  t.is(p.executed.model, 2, "a's model call began before b started, and b reached its own");
  slow.resolve();
  await run;
});

test('concurrency 1 runs one batch at a time', async (t) => {
  const { runner } = withRunner(t);
  const p = pipeline();
  for (const wf of ['a', 'b', 'c']) signalN(runner, wf, 2);
  await runner.runBatches(runner.pending(), p.fn, p.activities, 1, { concurrency: 1, parallel: ['model'], ordered: ['append'] });
  t.is(p.active.maxModel, 1);
  t.deepEqual(p.log, ['a#1', 'b#1', 'c#1', 'a#2', 'b#2', 'c#2']);
});

test('a failure stops the round: a later batch stops before its append, stays pending, and resumes from its journal', async (t) => {
  const { runner } = withRunner(t);
  const p = pipeline();
  signalN(runner, 'a', 1);
  signalN(runner, 'b', 1);
  signalN(runner, 'c', 1);
  const store = p.activities.store;
  let failOnce = true;
  p.activities.store = async (wf: string) => {
    if (wf === 'a' && failOnce) {
      failOnce = false;
      throw new Error('disk full');
    }
    return store(wf);
  };
  // b's model is quick, a's slow: b would append first if it could.
  const slow = deferred();
  p.gates.set('a#1', slow.promise);
  const run = runner.runBatches(['a', 'b', 'c'], p.fn, p.activities, 8, { ...OPTS, parallel: ['model'], ordered: ['append'] });
  while (!p.events.includes('store b')) await tick();
  slow.resolve();
  await t.throwsAsync(run, { message: 'disk full' });
  t.deepEqual(p.log, [], 'nothing appended after the failure');
  t.is(p.executed.prepare, 2, 'c never started');
  t.deepEqual(runner.pending().sort(), ['a', 'b', 'c']);
  const before = { ...p.executed };
  const r = await runner.runBatches(runner.pending(), p.fn, p.activities, 8, { ...OPTS, parallel: ['model'], ordered: ['append'] });
  t.is(r.ran, 3);
  t.deepEqual(p.log, ['a#1', 'b#1', 'c#1']);
  t.is(p.executed.model - before.model, 1, "only c's model call ran again: a's and b's were journaled");
  t.deepEqual(runner.pending(), []);
});

test('runBatches refuses a bad concurrency and repeated workflow ids', async (t) => {
  const { runner } = withRunner(t);
  const p = pipeline();
  await t.throwsAsync(runner.runBatches(['a'], p.fn, p.activities, 1, { concurrency: 0 }), { code: 'invalid_input' });
  await t.throwsAsync(runner.runBatches(['a', 'a'], p.fn, p.activities, 1, { concurrency: 2 }), { code: 'invalid_input' });
});

// ---------------------------------------------------------------- journal encoding

const f32 = fc.float({ noNaN: false }).map((x) => x);
const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue(),
    fc.array(f32, { minLength: 0, maxLength: 40 }),
    fc.array(fc.double(), { minLength: 16, maxLength: 20 }),
    fc.constantFrom('\u0000', '\u0000f32:AAAA', '\u0000\u0000x', 'plain', -0, Number.NaN, Infinity, undefined, null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constant('__proto__')), tie('value'), { maxKeys: 4 }),
  ),
})).value;

test('decoding the journal text of a value gives exactly its JSON round trip', (t) => {
  fc.assert(
    fc.property(jsonish, (value) => {
      const viaJson: unknown = (JSON.parse(JSON.stringify({ v: value })) as { v?: unknown }).v;
      const viaJournal = decodeJournalValue(encodeJournalValue(value));
      t.deepEqual(viaJournal, viaJson);
      // deepEqual compares own "__proto__" keys too; the prototype must stay Object's.
      t.is(JSON.stringify(viaJournal), JSON.stringify(viaJson));
    }),
    { numRuns: 300, seed: 7 },
  );
});

test('edge cases of the journal encoding', (t) => {
  const round = (v: unknown): unknown => decodeJournalValue(encodeJournalValue(v));
  const floats = Array.from({ length: 512 }, (_, i) => Math.fround(Math.sin(i) / 3));
  t.deepEqual(round(floats), floats);
  t.true(encodeJournalValue({ embedding: floats }).length < JSON.stringify({ embedding: floats }).length / 2, 'embeddings are packed');
  const withZeros = [...floats.slice(0, 20), -0, 0];
  t.true(Object.is((round(withZeros) as number[])[20], 0), '-0 becomes 0, as in JSON');
  t.deepEqual(round([...floats.slice(0, 20), Infinity]), [...floats.slice(0, 20), null], 'not finite: JSON rules');
  t.deepEqual(round([...floats.slice(0, 20), 0.1]), [...floats.slice(0, 20), 0.1], 'doubles stay JSON');
  t.deepEqual(round({ s: '\u0000f32:AAAAAA==', t: '\u0000' }), { s: '\u0000f32:AAAAAA==', t: '\u0000' });
  const proto = round(JSON.parse('{"__proto__": {"x": "\\u0000y"}, "k": 1}')) as Record<string, unknown>;
  t.is(Object.getPrototypeOf(proto), Object.prototype);
  t.deepEqual(Object.keys(proto), ['__proto__', 'k']);
  t.is(round(undefined), undefined);
  t.is(round(null), null);
  // Journals of earlier versions are plain JSON.
  t.deepEqual(decodeJournalValue('{"v":[1,2,{"a":"\\u0000b"}]}'), [1, 2, { a: '\u0000b' }]);
  t.is(decodeJournalValue('{}'), undefined);
});

test('a batch journaled in the earlier plain JSON format resumes without running its calls again', async (t) => {
  const { runner, file } = withRunner(t);
  const p = pipeline();
  signalN(runner, 'a', 1);
  // A crash after `prepare` and `model` were journaled by an earlier version.
  const failing = { ...p.activities, store: async () => Promise.reject(new Error('crash')) };
  await t.throwsAsync(runner.runBatch('a', p.fn, failing, 8), { message: 'crash' });
  const vector = Array.from({ length: 32 }, (_, i) => Math.fround(i / 7));
  const db = new Database(file);
  const rows = db.prepare('SELECT call_seq, result FROM journal ORDER BY call_seq').all() as { call_seq: number; result: string }[];
  t.deepEqual(rows.map((r) => decodeJournalValue(r.result)), ['a', vector]);
  t.true(rows.every((r) => r.result.startsWith('f32;')));
  db.prepare('UPDATE journal SET result = ? WHERE call_seq = 0').run(JSON.stringify({ v: 'a' }));
  db.prepare('UPDATE journal SET result = ? WHERE call_seq = 1').run(JSON.stringify({ v: vector }));
  db.close();
  const before = { ...p.executed };
  t.deepEqual(await runner.runBatch('a', p.fn, p.activities, 8), { ran: true, inputs: 1 });
  t.is(p.executed.prepare, before.prepare);
  t.is(p.executed.model, before.model);
  t.deepEqual(p.log, ['a#1']);
});
