/**
 * Crash battery: a child process ingests 5,000 events while it is killed with SIGKILL more than
 * 20 times, at seeded progress points and right after effects (before their checkpoints). After
 * the last restart runs to completion, every event is accounted for, no memory is duplicated,
 * and no checkpoint ever went back.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { MemoryState } from '../../core/ports.js';
import { seededRng } from '../../core/random.js';
import { removeDir, tempDir } from '../helpers/engine.js';
import {
  accountFor,
  allMemories,
  checkpointRegressions,
  duplicateCount,
  duplicateMemories,
  memoryLog,
  openBatteryEngine,
  reportBattery,
  sampleCheckpoints,
  unrememberedMessages,
  type CheckpointSample,
} from '../helpers/reliability.js';
import { crashStream, HOOK_POINTS, type CrashPlan, type HookPoint } from './fixtures/crash-stream.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
/** 100 users × (45 messages + 5 session ends) = 5,000 events, published in 5 chunks. */
const BASE = { users: 100, messages: 45, seed: 7, chunks: 5, poisonEvery: 250, batchSize: 64 } as const;
/** Runs killed by the parent at a progress point; HOOKED of them also carry a self-kill hook. */
const RUNS = 24;
const HOOKED = 10;
const MIN_CRASHES = 20;
/** Users whose memories are compared with an uninterrupted run (cost: that share of the stream). */
const REFERENCE_USERS = 10;
/** A hook fires after 1..PASSES[point] passes: effects of that kind are rarer or more frequent. */
const PASSES: Record<HookPoint, number> = { 'hand-off': 40, 'dlq-append': 1, activity: 40, 'memory-append': 8, 'projection-apply': 4 };

interface RunResult {
  readonly finished: boolean;
  readonly killed: boolean;
  readonly hook: string | null;
  readonly sample: CheckpointSample | null;
}

/** Runs one child; kills it (after `jitterMs`) once it reports `killAt` processed events, if given. */
function runChild(dataDir: string, plan: CrashPlan, killAt: number | null, jitterMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import=tsx', CHILD, dataDir, JSON.stringify(plan)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let armed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAt === null || armed) return;
      const progress = [...out.matchAll(/^PROGRESS (\d+)$/gm)].map((m) => Number(m[1]));
      if (progress.some((n) => n >= killAt)) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), jitterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const sampleLine = /^SAMPLE (.*)$/m.exec(out)?.[1];
      const result = {
        finished: /^DONE$/m.test(out),
        killed: signal === 'SIGKILL',
        hook: /^HOOK (.*)$/m.exec(out)?.[1] ?? null,
        sample: sampleLine ? (JSON.parse(sampleLine) as CheckpointSample) : null,
      };
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`the child failed (code ${code}, signal ${signal}):\n${err}`));
      else resolve(result);
    });
  });
}

test('5,000 events under 20+ SIGKILLs: none lost, none duplicated, checkpoints never go back', async (t) => {
  t.timeout(12 * 60_000);
  const started = performance.now();
  const dir = tempDir('engram-crash-');
  t.teardown(() => removeDir(dir));
  const { events, poison } = crashStream(BASE);
  t.true(events.length >= 5000, `${events.length} events`);

  // The schedule: sorted progress points in 2%..95% of the stream, some runs with a hook too.
  const rng = seededRng(2025);
  const targets = Array.from({ length: RUNS }, () => Math.floor(events.length * (0.02 + rng.next() * 0.93))).sort((a, b) => a - b);
  const hooked = new Set<number>();
  while (hooked.size < HOOKED) hooked.add(Math.floor(rng.next() * RUNS));

  const samples: CheckpointSample[] = [];
  const hooks: string[] = [];
  const schedule: string[] = [];
  let crashes = 0;
  for (let run = 0; run < RUNS; run++) {
    // Hooked runs go through the hook points in turn, and leave the parent's kill for later.
    const at = HOOK_POINTS[[...hooked].sort((a, b) => a - b).indexOf(run) % HOOK_POINTS.length] ?? 'activity';
    const hook = hooked.has(run) ? { at, after: 1 + Math.floor(rng.next() * PASSES[at]) } : null;
    // Projections catch up once the workflows ran a round (about a chunk): that hook gets no
    // deadline, as it surely comes; the others keep one, as their effect may not come again.
    const killAt = !hook ? (targets[run] ?? 0) : hook.at === 'projection-apply' ? null : (targets[run + 2] ?? Math.floor(events.length * 0.97));
    const result = await runChild(dir, { ...BASE, hook }, killAt, Math.floor(rng.next() * 400));
    if (!result.sample) throw new Error(`run ${run} died before its first sample`);
    // The sample at a start shows where the previous run died: it must have had work left.
    t.true((result.sample['runner/done-inputs'] ?? 0) < events.length, `run ${run} started with work left`);
    samples.push(result.sample);
    if (result.hook) hooks.push(result.hook);
    if (result.killed && !result.finished) crashes++;
    schedule.push(result.hook ? `${result.hook}` : result.killed ? `@${killAt}` : 'finished');
  }
  const last = await runChild(dir, { ...BASE, hook: null }, null, 0);
  t.true(last.finished, 'the last restart runs to completion');
  if (last.sample) samples.push(last.sample);
  t.true((last.sample?.['runner/done-inputs'] ?? 0) < events.length, 'the last crash left work to do');
  t.log(`kills: ${schedule.join(', ')}`);
  t.true(crashes >= MIN_CRASHES, `${crashes} crashes`);
  t.true(hooks.length >= 3, `${hooks.length} kills landed right after an effect`);

  const engine = await openBatteryEngine(dir, { batchSize: BASE.batchSize });
  t.teardown(() => engine.close());
  samples.push(await sampleCheckpoints(engine));

  // Checkpoints monotonic: offsets, projector checkpoints and batch numbers never went back.
  const regressions = samples.slice(1).flatMap((s, i) => checkpointRegressions(samples[i] ?? {}, s).map((r) => `restart ${i + 1}: ${r}`));
  t.deepEqual(regressions, []);

  // Every event accounted for: completed by its workflow, or (the poison) dead-lettered once.
  const accounting = accountFor(dir, events);
  t.deepEqual(accounting.lost, [], 'no event was lost');
  t.is(accounting.pending, 0);
  const progress = await engine.progress();
  t.is(progress.published, events.length + poison.length, 'each event and poison record is in the log once');
  t.is(progress.processed, events.length);
  const dead = await engine.deadLetters();
  t.is(dead.length, poison.length, 'each poison record was dead-lettered exactly once');
  t.is(new Set(dead.map((r) => r.headers['dlq-source'])).size, dead.length);
  for (const p of poison) {
    const entry = dead.find((r) => Buffer.compare(Buffer.from(r.value), Buffer.from(p.value)) === 0);
    t.is(entry?.headers['dlq-code'], p.expectedCode, `${p.kind} poison is dead-lettered as ${p.expectedCode}`);
    t.true((entry?.headers['dlq-reason'] ?? '').length > 0);
  }

  // Every message is remembered (as a source of a memory) or reinforced an identical memory.
  const memories = await allMemories(engine, events);
  const memoryEvents = await memoryLog(engine);
  const unremembered = unrememberedMessages(events, memories, memoryEvents);
  t.deepEqual(unremembered, [], 'every message is remembered or reinforced a memory');
  const lost = accounting.lost.length + unremembered.length;

  // Nothing duplicated: no memory event twice in the log, no two active memories of one source and text.
  const memoryEventIds = new Set(memoryEvents.map((e) => e.eventId));
  t.is(memoryEventIds.size, memoryEvents.length, 'no memory event was appended twice');
  t.deepEqual(duplicateMemories(memories), []);
  t.is(await engine.projectors.lag(), 0, 'every projection caught up');

  // Exactly the memories of an uninterrupted run: a clean engine fed the same chunks of the first
  // REFERENCE_USERS users (a user's batches hold what one chunk brought it, crash or not).
  const refDir = tempDir('engram-crash-ref-');
  t.teardown(() => removeDir(refDir));
  const reference = await openBatteryEngine(refDir, { batchSize: BASE.batchSize });
  const sampled = (e: { userId: string }): boolean => Number(e.userId.slice('user'.length)) < REFERENCE_USERS;
  for (const chunk of crashStream(BASE).chunks) {
    await reference.publish(chunk.events.filter(sampled));
    await reference.runUntilIdle();
  }
  const summary = (states: readonly MemoryState[]): string[] =>
    states
      .filter((s) => sampled(s.memory))
      .map((s) => JSON.stringify([s.memory.id, s.status, s.version, s.memory.kind, s.memory.text, s.memory.validFrom, s.memory.validTo, s.memory.sources.map((x) => x.messageId).sort()]))
      .sort();
  const expected = summary(await allMemories(reference, events.filter(sampled)));
  await reference.close();
  t.true(expected.length > REFERENCE_USERS * 40, `${expected.length} reference memories`);
  t.deepEqual(summary(memories), expected, 'the sampled users have exactly the memories of an uninterrupted run');

  const seconds = Math.round((performance.now() - started) / 1000);
  reportBattery(t, 'crash', {
    events: events.length,
    crashes,
    lost,
    duplicated: duplicateCount(memories) + memoryEvents.length - memoryEventIds.size,
    extra: `${hooks.length} right after an effect [${hooks.join('; ')}], ${poison.length} poison dead-lettered, ${memoryEvents.length} memory events, ${memories.length} memories (${REFERENCE_USERS} users' equal to an uninterrupted run), ${samples.length} checkpoint samples, ${seconds} s`,
  });
});
