/**
 * The projector runner (streams/projectors/projector-runner.ts): projections apply each fetch side
 * by side while the next fetch is read and decoded, yet every projection sees every event once,
 * in log order, and checkpoints where its effect stopped; concurrent catch-ups do not overlap.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { StorageError } from '../../core/errors.js';
import type { MemoryEvent } from '../../core/model.js';
import { TOPICS } from '../../core/model.js';
import type { Clock } from '../../core/random.js';
import { SqliteEventLog } from '../../infra/embedded/event-log.js';
import { ProjectorRunner } from '../../streams/projectors/projector-runner.js';
import type { PositionedMemoryEvent, Projection } from '../../streams/projectors/projection.js';
import { RecordSealer } from '../../streams/record-sealer.js';

const access = (i: number): MemoryEvent => ({
  eventId: `ev-${i}`,
  tenantId: 'acme',
  userId: 'alice',
  recordedAt: 1_000 + i,
  causationId: `c-${i}`,
  payload: { type: 'MemoryAccessed', memoryIds: [`m-${i}`], accessedAt: 1_000 + i },
});

/** An in-memory projection that records what it applied; `delayMs` makes it slow, `failAt` fails it (retriably) at an offset. */
class Recording implements Projection {
  readonly seen: string[] = [];
  readonly saved = new Map<number, number>();
  failAt: number | null = null;

  constructor(
    readonly name: string,
    private readonly delayMs = 0,
  ) {}

  readonly checkpoints = {
    checkpoint: async (_p: string, _t: string, partition: number): Promise<number> => this.saved.get(partition) ?? 0,
    saveCheckpoint: async (_p: string, _t: string, partition: number, next: number): Promise<void> => {
      this.saved.set(partition, next);
    },
  };

  async apply(events: readonly PositionedMemoryEvent[]): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failAt !== null && events.some((e) => e.position.offset >= (this.failAt as number))) {
      throw new StorageError(`${this.name} is down`);
    }
    for (const e of events) this.seen.push(e.event.eventId);
  }

  async reset(): Promise<void> {
    this.seen.length = 0;
    this.saved.clear();
  }
}

async function withLog(count: number, fn: (log: SqliteEventLog) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const clock: Clock = { now: () => 1_700_000_000_000 };
  const log = SqliteEventLog.open(path.join(dir, 'log.db'), { clock });
  try {
    await log.ensureTopic(TOPICS.memory, 1);
    const records = await new RecordSealer(null).memoryRecords(Array.from({ length: count }, (_, i) => access(i)));
    await log.append(TOPICS.memory, records);
    await fn(log);
  } finally {
    await log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ids = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `ev-${from + i}`);

test('every projection applies every event once, in order, across pipelined fetches', async (t) => {
  await withLog(1300, async (log) => {
    const fast = new Recording('fast');
    const slow = new Recording('slow', 5);
    const runner = new ProjectorRunner(log, [fast, slow], 256);
    t.is(await runner.catchUp(), 2 * 1300);
    t.deepEqual(fast.seen, ids(0, 1300));
    t.deepEqual(slow.seen, ids(0, 1300));
    t.is(fast.saved.get(0), 1300);
    t.is(slow.saved.get(0), 1300);
    t.is(await runner.lag(), 0);
  });
});

test('concurrent catch-ups run one after the other: nothing is applied twice', async (t) => {
  await withLog(700, async (log) => {
    const slow = new Recording('slow', 3);
    const runner = new ProjectorRunner(log, [slow], 128);
    const [first, second] = await Promise.all([runner.catchUp(), runner.catchUp()]);
    t.is(first, 700);
    t.is(second, 0);
    t.deepEqual(slow.seen, ids(0, 700));
  });
});

test('a projection that fails stops at its last checkpoint while the other goes on; the next catch-up resumes it', async (t) => {
  await withLog(1000, async (log) => {
    const ok = new Recording('ok');
    const flaky = new Recording('flaky', 2);
    flaky.failAt = 600;
    const runner = new ProjectorRunner(log, [ok, flaky], 256);
    await t.throwsAsync(runner.catchUp(), { instanceOf: StorageError, message: /flaky is down/ });
    t.is(flaky.saved.get(0), 512, 'checkpointed after the last fetch it applied');
    t.deepEqual(flaky.seen, ids(0, 512));
    const okAt = ok.saved.get(0) ?? 0;
    t.true(okAt >= 768, 'the healthy projection applied the failing fetch too');
    t.deepEqual(ok.seen, ids(0, okAt));
    flaky.failAt = null;
    await runner.catchUp();
    t.deepEqual(flaky.seen, ids(0, 1000));
    t.deepEqual(ok.seen, ids(0, 1000));
  });
});

test('a catch-up over stand-in projections applies and measures them instead of the runner’s own, serialised with the rest', async (t) => {
  await withLog(600, async (log) => {
    const own = new Recording('graph', 3);
    const standIn = new Recording('graph');
    const store = new Recording('store');
    const runner = new ProjectorRunner(log, [own, store], 128);
    t.is(await runner.lag([standIn, store]), 1200);
    // A catch-up of the runner's own projections asked at the same time waits for this one.
    const [withStandIns, ownAfter] = await Promise.all([runner.catchUp(undefined, 256, [standIn, store]), runner.catchUp(['graph'])]);
    t.is(withStandIns, 1200);
    t.deepEqual(standIn.seen, ids(0, 600));
    t.deepEqual(store.seen, ids(0, 600));
    t.is(ownAfter, 600, 'the runner’s own graph projection then catches up on its own checkpoints');
    t.deepEqual(own.seen, ids(0, 600));
    t.is(await runner.lag([standIn, store]), 0);
  });
});
