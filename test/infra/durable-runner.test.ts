import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { EngramError, ValidationError } from '../../core/errors.js';
import type { Clock } from '../../core/random.js';
import { seededRng } from '../../core/random.js';
import type { WorkflowContext } from '../../infra/embedded/durable-runner.js';
import { DurableRunner, NondeterminismError } from '../../infra/embedded/durable-runner.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function tickingClock(start = 1_000): Clock {
  let t = start;
  return { now: () => (t += 1) };
}

/** A runner in a temp dir, closed after the test. */
function withRunner(t: { teardown(fn: () => void): void }): { runner: DurableRunner; file: string } {
  const file = path.join(tempDir(t), 'runner.sqlite');
  const runner = DurableRunner.open(file, { clock: tickingClock() });
  t.teardown(() => runner.close());
  return { runner, file };
}

const inputs = (ids: string[]) => ids.map((id) => ({ id, payload: { id } }));

interface SumState {
  sum: number;
  batches: number[];
  seen: string[];
}

/** Activities that count their real executions. */
function counting() {
  const calls = { double: 0, note: 0 };
  const activities = {
    async double(x: number): Promise<number> {
      calls.double++;
      return x * 2;
    },
    async note(_msg: string): Promise<void> {
      calls.note++;
    },
  };
  return { calls, activities };
}

async function sumWorkflow(
  ctx: WorkflowContext<SumState, { v: number }, ReturnType<typeof counting>['activities']>,
): Promise<SumState> {
  const state = ctx.state ?? { sum: 0, batches: [], seen: [] };
  for (const [i, input] of ctx.inputs.entries()) {
    state.sum += await ctx.activities.double(input.v);
    state.seen.push(ctx.inputIds[i]!);
  }
  await ctx.activities.note(`batch ${ctx.batchSeq}`);
  state.batches.push(ctx.batchSeq);
  return state;
}

// ---------------------------------------------------------------- inbox and batches

test('signal deduplicates by input id, also against inputs already done', async (t) => {
  const { runner } = withRunner(t);
  t.is(runner.signal('wf', inputs(['a', 'b', 'a'])), 2);
  t.is(runner.signal('wf', inputs(['b', 'c'])), 1);
  t.deepEqual(runner.pending(), ['wf']);
  const { activities } = counting();
  const seen: string[][] = [];
  const res = await runner.runBatch<string[], unknown, typeof activities>(
    'wf',
    async (ctx) => {
      seen.push([...ctx.inputIds]);
      return [...(ctx.state ?? []), ...ctx.inputIds];
    },
    activities,
    10,
  );
  t.deepEqual(res, { ran: true, inputs: 3 });
  t.deepEqual(seen, [['a', 'b', 'c']]);
  t.deepEqual(runner.pending(), []);
  // Done inputs are remembered: a redelivery does not enqueue them again.
  t.is(runner.signal('wf', inputs(['a', 'b', 'c'])), 0);
  t.deepEqual(runner.pending(), []);
  t.deepEqual(await runner.runBatch('wf', async () => 'x', activities, 10), { ran: false, inputs: 0 });
  t.deepEqual(runner.state('wf'), ['a', 'b', 'c']);
  // Ids are per workflow.
  t.is(runner.signal('other', inputs(['a'])), 1);
});

test('batches follow inbox order, respect maxBatch and carry state across batches', async (t) => {
  const { runner } = withRunner(t);
  runner.signal('w1', [1, 2, 3, 4, 5].map((v) => ({ id: `i${v}`, payload: { v } })));
  runner.signal('w2', [{ id: 'x', payload: { v: 100 } }]);
  runner.signal('w1', [{ id: 'i6', payload: { v: 6 } }]);
  t.deepEqual(runner.pending(), ['w1', 'w2']);
  const { calls, activities } = counting();
  const sizes: number[] = [];
  for (;;) {
    const r = await runner.runBatch('w1', sumWorkflow, activities, 4);
    if (!r.ran) break;
    sizes.push(r.inputs);
  }
  t.deepEqual(sizes, [4, 2]);
  t.deepEqual(runner.state<SumState>('w1'), {
    sum: 2 * (1 + 2 + 3 + 4 + 5 + 6),
    batches: [1, 2],
    seen: ['i1', 'i2', 'i3', 'i4', 'i5', 'i6'],
  });
  t.deepEqual(calls, { double: 6, note: 2 });
  t.deepEqual(runner.pending(), ['w2']);
  t.is(runner.state('w2'), null);
  t.is(runner.state('never'), null);
});

// ---------------------------------------------------------------- crash and replay

test('a failed batch re-runs the same inputs and does not re-run completed activities', async (t) => {
  const { runner } = withRunner(t);
  runner.signal('wf', [1, 2, 3].map((v) => ({ id: `i${v}`, payload: { v } })));
  const calls = { a: 0, b: 0, c: 0 };
  let failC = true;
  const activities = {
    async a(x: number) {
      calls.a++;
      return { x, run: calls.a };
    },
    async b(x: number) {
      calls.b++;
      return x + 1;
    },
    async c(_x: number) {
      calls.c++;
      if (failC) throw new Error('crash in c');
      return 'ok';
    },
  };
  const observed: unknown[][] = [];
  const fn = async (ctx: WorkflowContext<{ out: unknown[] }, { v: number }, typeof activities>) => {
    const out: unknown[] = [];
    for (const input of ctx.inputs) {
      out.push(await ctx.activities.a(input.v));
      out.push(await ctx.activities.b(input.v));
    }
    out.push(await ctx.activities.c(0));
    observed.push(out);
    return { out };
  };

  await t.throwsAsync(runner.runBatch('wf', fn, activities, 2), { message: 'crash in c' });
  t.deepEqual(calls, { a: 2, b: 2, c: 1 });
  t.deepEqual(runner.pending(), ['wf'], 'the batch stays pending');
  t.is(runner.state('wf'), null);

  // New inputs and a bigger maxBatch do not change the batch fixed when it started.
  runner.signal('wf', [{ id: 'i4', payload: { v: 4 } }]);
  failC = false;
  const r = await runner.runBatch('wf', fn, activities, 10);
  t.deepEqual(r, { ran: true, inputs: 2 });
  t.deepEqual(calls, { a: 2, b: 2, c: 2 }, 'a and b ran once; only the failed call ran again');
  // Replayed results are the journaled ones (run: 1 and 2), not fresh executions.
  t.deepEqual(observed[0], [{ x: 1, run: 1 }, 2, { x: 2, run: 2 }, 3, 'ok']);

  // The next batch holds the remaining inputs, and its calls run for real.
  const r2 = await runner.runBatch('wf', fn, activities, 10);
  t.deepEqual(r2, { ran: true, inputs: 2 });
  t.deepEqual(calls, { a: 4, b: 4, c: 3 });
  t.deepEqual(runner.pending(), []);
});

test('after a restart (close and reopen) the journal replays; the state lives in the file', async (t) => {
  const file = path.join(tempDir(t), 'runner.sqlite');
  let clockT = 5_000;
  const clock: Clock = { now: () => (clockT += 10) };
  const first = DurableRunner.open(file, { clock });
  first.signal('wf', [{ id: 'e1', payload: { v: 5 } }]);
  const calls1 = { double: 0, note: 0 };
  const startedAts: number[] = [];
  const failing = {
    async double(x: number) {
      calls1.double++;
      return x * 2;
    },
    async note(_m: string): Promise<void> {
      calls1.note++;
      throw new Error('process dies here');
    },
  };
  const spy = async (ctx: Parameters<typeof sumWorkflow>[0]) => {
    startedAts.push(ctx.startedAt);
    return sumWorkflow(ctx);
  };
  await t.throwsAsync(first.runBatch('wf', spy, failing, 8));
  first.close();

  const second = DurableRunner.open(file, { clock });
  t.teardown(() => second.close());
  t.deepEqual(second.pending(), ['wf']);
  const { calls, activities } = counting();
  t.deepEqual(await second.runBatch('wf', spy, activities, 8), { ran: true, inputs: 1 });
  t.deepEqual(calls, { double: 0, note: 1 }, 'the journaled double() was not executed again');
  t.deepEqual(calls1, { double: 1, note: 1 });
  t.deepEqual(second.state<SumState>('wf'), { sum: 10, batches: [1], seen: ['e1'] });
  t.is(startedAts.length, 2);
  t.is(startedAts[0], startedAts[1], 'the batch start time is recorded, not re-read');
});

test('results are JSON both live and on replay', async (t) => {
  const { runner } = withRunner(t);
  runner.signal('wf', [{ id: 'i', payload: null }]);
  let fail = true;
  const activities = {
    async when(_: null) {
      return { at: new Date(0), skip: undefined, n: 1 };
    },
    async nothing(): Promise<undefined> {
      return undefined;
    },
    async boom(): Promise<void> {
      if (fail) throw new Error('boom');
    },
  };
  const seen: unknown[] = [];
  const fn = async (ctx: WorkflowContext<null, null, typeof activities>) => {
    seen.push(await ctx.activities.when(null));
    seen.push(await ctx.activities.nothing());
    await ctx.activities.boom();
    return null;
  };
  await t.throwsAsync(runner.runBatch('wf', fn, activities, 1));
  fail = false;
  await runner.runBatch('wf', fn, activities, 1);
  t.deepEqual(seen, [{ at: '1970-01-01T00:00:00.000Z', n: 1 }, undefined, { at: '1970-01-01T00:00:00.000Z', n: 1 }, undefined]);
  t.is(runner.state('wf'), null);
});

test('replaying a different activity at a journaled position is a non-retriable nondeterminism error', async (t) => {
  const { runner } = withRunner(t);
  runner.signal('wf', inputs(['x']));
  const { calls, activities } = counting();
  let stop = true;
  const v1 = async (ctx: WorkflowContext<number, unknown, typeof activities>) => {
    await ctx.activities.double(1);
    if (stop) throw new Error('interrupted');
    await ctx.activities.note('v1');
    return 1;
  };
  await t.throwsAsync(runner.runBatch('wf', v1, activities, 1), { message: 'interrupted' });

  // "New code" calls note() where the journal has double().
  const v2 = async (ctx: WorkflowContext<number, unknown, typeof activities>) => {
    await ctx.activities.note('v2');
    return 2;
  };
  const err = await t.throwsAsync(runner.runBatch('wf', v2, activities, 1), { instanceOf: NondeterminismError });
  t.true(err instanceof EngramError);
  t.is((err as EngramError).code, 'nondeterminism');
  t.false((err as EngramError).retriable);
  t.regex(err!.message, /double.*note/);
  t.deepEqual(calls, { double: 1, note: 0 });

  // Code that finishes before reaching journaled calls is also caught.
  const v3 = async () => 3;
  await t.throwsAsync(runner.runBatch('wf', v3, activities, 1), { instanceOf: NondeterminismError });
  t.deepEqual(runner.pending(), ['wf']);

  // The original code still completes the batch.
  stop = false;
  t.deepEqual(await runner.runBatch('wf', v1, activities, 1), { ran: true, inputs: 1 });
  t.deepEqual(calls, { double: 1, note: 1 });
  t.is(runner.state('wf'), 1);
});

test('one batch per workflow at a time; bad arguments and floating calls are rejected', async (t) => {
  const { runner } = withRunner(t);
  runner.signal('wf', inputs(['a']));
  const { activities } = counting();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const slow = runner.runBatch(
    'wf',
    async () => {
      await gate;
      return 'done';
    },
    activities,
    1,
  );
  const busy = await t.throwsAsync(runner.runBatch('wf', async () => 'x', activities, 1));
  t.is((busy as EngramError).code, 'busy');
  release();
  t.deepEqual(await slow, { ran: true, inputs: 1 });

  t.throws(() => runner.signal('', inputs(['a'])), { instanceOf: ValidationError });
  t.throws(() => runner.signal('wf', inputs([''])), { instanceOf: ValidationError });
  await t.throwsAsync(runner.runBatch('wf', async () => 1, activities, 0), { instanceOf: ValidationError });

  runner.signal('wf', inputs(['b']));
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let slowRuns = 0;
  const slowActivities = {
    async slow(): Promise<string> {
      slowRuns++;
      await finished;
      return 'late';
    },
  };
  const floating = async (ctx: WorkflowContext<string, unknown, typeof slowActivities>) => {
    void ctx.activities.slow();
    return 'returned early';
  };
  const outcome = runner.runBatch('wf', floating, slowActivities, 1);
  // The runner waits for the floating call to settle before failing the batch.
  await new Promise((resolve) => setImmediate(resolve));
  finish();
  await t.throwsAsync(outcome, { instanceOf: ValidationError, message: /still running/ });
  t.deepEqual(runner.pending(), ['wf']);
  // Its result was journaled, so the corrected workflow does not run it again.
  const awaited = async (ctx: WorkflowContext<string, unknown, typeof slowActivities>) => ctx.activities.slow();
  t.deepEqual(await runner.runBatch('wf', awaited, slowActivities, 1), { ran: true, inputs: 1 });
  t.is(slowRuns, 1);
  t.is(runner.state('wf'), 'late');
});

// ---------------------------------------------------------------- real crash

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'durable-crash-child.ts');

function countLines(file: string): number {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

/** Runs the child; kills it with SIGKILL once the effects file has `killAt` lines (if given). */
function runChild(
  db: string,
  effects: string,
  n: number,
  killAt: number | null,
): Promise<{ signal: NodeJS.Signals | null; code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import=tsx', CHILD, db, effects, String(n)], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const poll =
      killAt === null
        ? null
        : setInterval(() => {
            if (countLines(effects) >= killAt) child.kill('SIGKILL');
          }, 3);
    // Never hang: a stuck child fails the test instead.
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (poll) clearInterval(poll);
      clearTimeout(guard);
      resolve({ code, signal, stdout });
    });
  });
}

test('SIGKILL at random points: every input is processed exactly once, completed activities are not re-run', async (t) => {
  const dir = tempDir(t);
  const db = path.join(dir, 'runner.sqlite');
  const effects = path.join(dir, 'effects.log');
  const n = 24;
  const rng = seededRng(20240611);
  let kills = 0;
  const added: number[] = [];
  for (let run = 0; run < 8; run++) {
    const lines = countLines(effects);
    // Three kills at random points in the work still ahead, then run to the end.
    const killAt = kills < 3 ? lines + 1 + Math.floor(rng.next() * 12) : null;
    const res = await runChild(db, effects, n, killAt);
    const first = res.stdout.split('\n')[0];
    if (first) added.push((JSON.parse(first) as { added: number }).added);
    if (res.signal === 'SIGKILL') {
      kills++;
      continue;
    }
    t.is(res.code, 0, res.stdout);
    t.regex(res.stdout, /"done":true/);
    break;
  }
  t.is(kills, 3, 'the child was killed three times before finishing');
  t.is(added[0], n, 'the first run enqueued every input');
  t.true(added.slice(1).every((a) => a === 0), 'restarts enqueue nothing again');

  const runner = DurableRunner.open(db);
  t.teardown(() => runner.close());
  t.deepEqual(runner.pending(), []);
  const state = runner.state<{ processed: string[]; results: string[] }>('memory/acme/alice');
  const ids = Array.from({ length: n }, (_, i) => `in-${i}`);
  t.deepEqual(state?.processed, ids, 'each input processed exactly once, in order');
  const keys = ids.flatMap((id, i) => [`${id}/a/${i}`, `${id}/b/${i}`]);
  t.deepEqual(state?.results, keys.map((k) => `done:${k}`));

  // Each activity call took effect at least once; a repeat needs a kill between the effect and its
  // journal entry, and activities run one at a time, so there are at most as many repeats as kills.
  const lines = fs.readFileSync(effects, 'utf8').split('\n').filter(Boolean);
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
  t.deepEqual([...counts.keys()].sort(), [...keys].sort());
  const repeats = lines.length - keys.length;
  t.true(repeats <= kills, `${repeats} repeated effects for ${kills} kills`);
  t.log(`${kills} kills, ${repeats} repeated effects`);
});
