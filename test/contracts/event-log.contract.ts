/**
 * The EventLog contract: what the embedded SQLite log and the Kafka log both guarantee. Each case
 * opens a subject, uses its own topics (from `EVENT_LOG_CONTRACT_TOPICS`, so a mock cluster can
 * pre-create them) and its own groups, and closes it.
 *
 * A consumer's `fetch` returns records from the group's committed offsets on: a fetch that is not
 * committed is delivered again, by the same consumer or after a restart. A restart is `reopen`:
 * a second log over the same storage, as a new process would open it. Arrival may take a while
 * (Kafka joins a group first), so cases fetch until they have what they expect, within a bound.
 *
 * Dedup by key is not common ground: the embedded log drops a record whose `dedupKey` is already
 * in the topic; Kafka cannot, and carries the key in the `dedup-key` header instead (consumers
 * are idempotent by deterministic ids). `capabilities.dedupByKey` says which one is checked.
 */
import type { ExecutionContext, TestFn } from 'ava';
import { ValidationError } from '../../core/errors.js';
import type { LogPosition } from '../../core/model.js';
import type { EventLog, LogConsumer, LogRecord } from '../../core/ports.js';
import { partitionForKey } from '../../infra/embedded/partitioner.js';

/** What the contract needs from an adapter under test. */
export interface EventLogSubject {
  readonly log: EventLog;
  /** The adapter's name for a contract topic (a prefix per run, for a shared server). */
  topic(name: string): string;
  /** Closes the current log and opens another over the same storage (a restart). */
  reopen(): Promise<EventLog>;
  /** Closes whatever log is open. */
  close(): Promise<void>;
}

export interface EventLogContractOptions {
  /** True when `dedupKey` makes appends idempotent (embedded); false when it is only a header (Kafka). */
  readonly dedupByKey: boolean;
  readonly serial?: boolean;
  readonly skip?: boolean;
}

/** Every topic the contract uses, with its partition count. */
export const EVENT_LOG_CONTRACT_TOPICS: Readonly<Record<string, number>> = {
  positions: 3,
  ordering: 4,
  partitioner: 6,
  read: 2,
  end: 2,
  resume: 3,
  redeliver: 2,
  monotonic: 1,
  groups: 2,
  'dead.dlq': 2,
  lag: 2,
  dedup: 2,
};

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const text = (r: LogRecord): string => Buffer.from(r.value).toString('utf8');
const sorted = (xs: readonly string[]): string[] => [...xs].sort();
// Bounds how long a case waits for records to arrive (never asserted on).
const ARRIVAL_BOUND_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Fetches (without committing) until at least `n` records come back, or the bound passes. */
export async function fetchUntil(consumer: LogConsumer, n: number, max = 1000): Promise<LogRecord[]> {
  const deadline = performance.now() + ARRIVAL_BOUND_MS;
  let got: LogRecord[] = [];
  for (;;) {
    got = await consumer.fetch(max);
    if (got.length >= n || performance.now() > deadline) return got;
    await sleep(50);
  }
}

/** Fetches and commits until `n` records were consumed; returns them in consumption order. */
export async function drain(consumer: LogConsumer, n: number, max = 7): Promise<LogRecord[]> {
  const deadline = performance.now() + ARRIVAL_BOUND_MS;
  const out: LogRecord[] = [];
  while (out.length < n && performance.now() < deadline) {
    const batch = await consumer.fetch(max);
    if (batch.length === 0) {
      await sleep(50);
      continue;
    }
    out.push(...batch);
    await consumer.commit(batch);
  }
  return out;
}

/** A key per partition: the first of `tenant/user-<i>` that lands in each. */
export function keysByPartition(partitions: number): string[] {
  const keys = new Array<string | undefined>(partitions).fill(undefined);
  for (let i = 0; keys.includes(undefined); i++) {
    const key = `tenant/user-${i}`;
    const p = partitionForKey(key, partitions);
    keys[p] ??= key;
  }
  return keys as string[];
}

function checkOffsetOrder(t: ExecutionContext, records: readonly LogRecord[]): void {
  const last = new Map<number, number>();
  for (const r of records) {
    const before = last.get(r.partition) ?? -1;
    t.true(r.offset > before, `offsets of partition ${r.partition} increase (${before} then ${r.offset})`);
    last.set(r.partition, r.offset);
  }
}

async function readAll(log: EventLog, topic: string): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  const partitions = await log.partitions(topic);
  for (let p = 0; p < partitions; p++) out.push(...(await log.read(topic, p, 0, 10_000)));
  return out;
}

/** Registers the contract cases on `test`, titled `<name>: …`. */
export function eventLogContract(test: TestFn, name: string, open: () => Promise<EventLogSubject>, opts: EventLogContractOptions): void {
  type Body = (t: ExecutionContext, s: EventLogSubject) => Promise<void>;
  const register = (title: string, body: Body): void => {
    const impl = async (t: ExecutionContext): Promise<void> => {
      const subject = await open();
      try {
        await body(t, subject);
      } finally {
        await subject.close();
      }
    };
    const fn = opts.serial === true ? test.serial : test;
    if (opts.skip === true) fn.skip(`${name}: ${title}`, impl);
    else fn(`${name}: ${title}`, impl);
  };
  /** Creates a contract topic and returns its adapter name. */
  const topic = async (s: EventLogSubject, key: string): Promise<{ t: string; n: number }> => {
    const n = EVENT_LOG_CONTRACT_TOPICS[key];
    if (n === undefined) throw new Error(`not a contract topic: ${key}`);
    const t = s.topic(key);
    await s.log.ensureTopic(t, n);
    return { t, n };
  };

  register('append returns positions in input order, dense per partition', async (t, s) => {
    const { t: T, n } = await topic(s, 'positions');
    const keys = Array.from({ length: 12 }, (_, i) => `tenant/u${i % 4}`);
    const first = await s.log.append(T, keys.map((key, i) => ({ key, value: bytes(`a${i}`) })));
    const second = await s.log.append(T, keys.slice(0, 5).map((key, i) => ({ key, value: bytes(`b${i}`) })));
    t.is(first.length, 12);
    t.is(second.length, 5);
    const next = new Map<number, number>();
    for (const [i, pos] of [...first, ...second].entries()) {
      const key = keys[i % 12] as string;
      t.is(pos.topic, T);
      t.is(pos.partition, partitionForKey(key, n));
      t.is(pos.offset, next.get(pos.partition) ?? 0, 'offsets are dense, in input order, across appends');
      next.set(pos.partition, pos.offset + 1);
    }
    // Each position holds the record appended there.
    for (const [i, pos] of first.entries()) {
      const [r] = await s.log.read(T, pos.partition, pos.offset, 1);
      t.is(r && text(r), `a${i}`);
    }
    t.deepEqual(await s.log.append(T, []), []);
  });

  register('records of one key stay in one partition, in append order', async (t, s) => {
    const { t: T } = await topic(s, 'ordering');
    const keys = ['acme/alice', 'acme/bob', 'acme/carol', 'globex/dave', 'globex/erin'];
    for (let round = 0; round < 3; round++) {
      await s.log.append(T, keys.flatMap((key) => [0, 1].map((j) => ({ key, value: bytes(`${key}#${round * 2 + j}`) }))));
    }
    const all = await readAll(s.log, T);
    t.is(all.length, 30);
    for (const key of keys) {
      const mine = all.filter((r) => r.key === key);
      t.is(new Set(mine.map((r) => r.partition)).size, 1, `${key} stays in one partition`);
      t.deepEqual(mine.map(text), [0, 1, 2, 3, 4, 5].map((i) => `${key}#${i}`));
    }
  });

  register('a key lands in the partition partitionForKey gives', async (t, s) => {
    const { t: T, n } = await topic(s, 'partitioner');
    t.is(await s.log.partitions(T), n);
    const keys = Array.from({ length: 60 }, (_, i) => `tenant-${i % 7}/user-${i}`);
    const positions = await s.log.append(T, keys.map((key) => ({ key, value: bytes(key) })));
    positions.forEach((pos, i) => t.is(pos.partition, partitionForKey(keys[i] as string, n), keys[i]));
    t.is(new Set(positions.map((p) => p.partition)).size, n, 'sixty keys spread over every partition');
  });

  register('read returns one partition from an offset, with key, value, headers and time', async (t, s) => {
    const { t: T, n } = await topic(s, 'read');
    const [k0, k1] = keysByPartition(n) as [string, string];
    await s.log.append(T, Array.from({ length: 6 }, (_, i) => ({ key: k0, value: Uint8Array.of(i, 0, 255), headers: { i: String(i) } })));
    await s.log.append(T, [{ key: k1, value: bytes('x') }, { key: k1, value: new Uint8Array(0) }]);
    const mid = await s.log.read(T, 0, 2, 3);
    t.deepEqual(mid.map((r) => r.offset), [2, 3, 4]);
    const r2 = mid[0] as LogRecord;
    t.is(r2.topic, T);
    t.is(r2.partition, 0);
    t.is(r2.key, k0);
    t.deepEqual([...r2.value], [2, 0, 255]);
    t.is(r2.headers.i, '2');
    t.true(Number.isSafeInteger(r2.timestamp) && r2.timestamp > 0);
    t.deepEqual((await s.log.read(T, 0, 4, 100)).map((r) => r.offset), [4, 5]);
    t.deepEqual((await s.log.read(T, 0, 0, 100)).map((r) => r.offset), [0, 1, 2, 3, 4, 5]);
    t.deepEqual(await s.log.read(T, 0, 6, 10), []);
    t.deepEqual(await s.log.read(T, 0, 100, 10), []);
    t.deepEqual(await s.log.read(T, 0, 0, 0), []);
    const p1 = await s.log.read(T, 1, 0, 10);
    t.deepEqual(p1.map(text), ['x', '']);
    t.is(p1[1]?.value.length, 0);
    await t.throwsAsync(s.log.read(T, n, 0, 1), { instanceOf: ValidationError });
    await t.throwsAsync(s.log.read(T, 0, -1, 1), { instanceOf: ValidationError });
  });

  register('endOffset is the offset the next record of a partition gets', async (t, s) => {
    const { t: T, n } = await topic(s, 'end');
    t.is(await s.log.partitions(T), n);
    t.is(await s.log.endOffset(T, 0), 0);
    t.is(await s.log.endOffset(T, 1), 0);
    const [k0, k1] = keysByPartition(n) as [string, string];
    const pos = await s.log.append(T, [k0, k0, k1, k0].map((key) => ({ key, value: bytes(key) })));
    t.is(await s.log.endOffset(T, 0), 3);
    t.is(await s.log.endOffset(T, 1), 1);
    t.is(pos[3]?.offset, 2);
    await t.throwsAsync(s.log.endOffset(T, n), { instanceOf: ValidationError });
  });

  register('a restarted group resumes after its committed offsets: no loss, no duplicate', async (t, s) => {
    const { t: T } = await topic(s, 'resume');
    const values = Array.from({ length: 15 }, (_, i) => `r${i}`);
    await s.log.append(T, values.map((v, i) => ({ key: `tenant/user-${i % 5}`, value: bytes(v) })));
    const c = s.log.consumer('g-resume', T);
    const all = await fetchUntil(c, 15);
    t.is(all.length, 15);
    checkOffsetOrder(t, all);
    t.deepEqual(sorted(all.map(text)), sorted(values));
    const done = all.filter((r) => r.offset < 2);
    await c.commit(done);
    t.is(await c.lag(), 15 - done.length);

    const log2 = await s.reopen();
    const c2 = log2.consumer('g-resume', T);
    t.is(await c2.lag(), 15 - done.length);
    const rest = await fetchUntil(c2, 15 - done.length);
    checkOffsetOrder(t, rest);
    t.deepEqual(sorted([...done, ...rest].map(text)), sorted(values), 'everything exactly once');
    t.true(rest.every((r) => r.offset >= 2));
    await c2.commit(rest);
    t.is(await c2.lag(), 0);
    await log2.append(T, [{ key: 'tenant/user-0', value: bytes('late') }]);
    t.deepEqual((await fetchUntil(c2, 1)).map(text), ['late']);
  });

  register('records fetched but not committed are delivered again', async (t, s) => {
    const { t: T } = await topic(s, 'redeliver');
    const values = Array.from({ length: 6 }, (_, i) => `d${i}`);
    await s.log.append(T, values.map((v, i) => ({ key: `k${i}`, value: bytes(v) })));
    const c = s.log.consumer('g-redeliver', T);
    const first = await fetchUntil(c, 6);
    t.deepEqual(sorted(first.map(text)), sorted(values));
    const again = await c.fetch(100);
    t.deepEqual(sorted(again.map(text)), sorted(values), 'the same consumer delivers them again');
    const log2 = await s.reopen();
    const c2 = log2.consumer('g-redeliver', T);
    const after = await fetchUntil(c2, 6);
    t.deepEqual(sorted(after.map(text)), sorted(values), 'a restarted consumer delivers them again');
    t.is(await c2.lag(), 6);
  });

  register('commits never move backwards and cannot pass the end', async (t, s) => {
    const { t: T } = await topic(s, 'monotonic');
    await s.log.append(T, Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: bytes(String(i)) })));
    const c = s.log.consumer('g-monotonic', T);
    const at = (offset: number): LogPosition => ({ topic: T, partition: 0, offset });
    await c.commit([at(3), at(1)]);
    t.is(await c.lag(), 1);
    await c.commit([at(0)]);
    t.is(await c.lag(), 1, 'an older commit is ignored');
    t.deepEqual((await fetchUntil(c, 1)).map(text), ['4']);
    await t.throwsAsync(c.commit([at(5)]), { instanceOf: ValidationError });
    await t.throwsAsync(c.commit([{ topic: `${T}x`, partition: 0, offset: 0 }]), { instanceOf: ValidationError });
    await t.throwsAsync(c.commit([{ topic: T, partition: 1, offset: 0 }]), { instanceOf: ValidationError });
    await c.commit([]);
    t.is(await c.lag(), 1);
    await c.commit([at(4)]);
    t.is(await c.lag(), 0);
  });

  register('two groups keep their own offsets', async (t, s) => {
    const { t: T } = await topic(s, 'groups');
    const values = Array.from({ length: 8 }, (_, i) => `g${i}`);
    await s.log.append(T, values.map((v, i) => ({ key: `k${i}`, value: bytes(v) })));
    const a = s.log.consumer('g-a', T);
    const b = s.log.consumer('g-b', T);
    const consumed = await drain(a, 8, 3);
    t.deepEqual(sorted(consumed.map(text)), sorted(values));
    t.is(await a.lag(), 0);
    t.is(await b.lag(), 8);
    t.deepEqual(sorted((await fetchUntil(b, 8)).map(text)), sorted(values));
  });

  register('dead-lettered records keep key, value and the dlq headers', async (t, s) => {
    const { t: T } = await topic(s, 'dead.dlq');
    t.true(T.endsWith('.dlq'));
    const headers = {
      'dlq-code': 'undecodable',
      'dlq-reason': `bad bytes: ünïcødé ✓ ${'x'.repeat(900)}`,
      'dlq-source': 'conversation-events/2/41',
    };
    const value = Uint8Array.of(0xc3, 0x01, 0, 255, 7);
    const [pos] = await s.log.append(T, [{ key: 'acme/alice', value, headers, dedupKey: 'conversation-events/2/41' }]);
    t.truthy(pos);
    const [r] = await s.log.read(T, pos!.partition, pos!.offset, 1);
    t.is(r?.key, 'acme/alice');
    t.deepEqual([...(r?.value ?? [])], [...value]);
    for (const [k, v] of Object.entries(headers)) t.is(r?.headers[k], v, k);
  });

  register('lag counts what the group has not committed', async (t, s) => {
    const { t: T } = await topic(s, 'lag');
    const c = s.log.consumer('g-lag', T);
    t.is(await c.lag(), 0);
    await s.log.append(T, Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: bytes(String(i)) })));
    t.is(await c.lag(), 10);
    const got = await fetchUntil(c, 10);
    t.is(await c.lag(), 10, 'fetching does not commit');
    // fetch is in offset order per partition, so the first four are a prefix of each partition.
    await c.commit(got.slice(0, 4));
    t.is(await c.lag(), 6);
    await s.log.append(T, [{ key: 'k0', value: bytes('more') }, { key: 'k1', value: bytes('more') }, { key: 'k2', value: bytes('more') }]);
    t.is(await c.lag(), 9);
  });

  if (opts.dedupByKey) {
    register('dedupKey makes appends idempotent', async (t, s) => {
      const { t: T, n } = await topic(s, 'dedup');
      const first = await s.log.append(T, [
        { key: 'a', value: bytes('1'), dedupKey: 'e1' },
        { key: 'b', value: bytes('2'), dedupKey: 'e2' },
        { key: 'a', value: bytes('1 again'), dedupKey: 'e1' },
      ]);
      t.deepEqual(first[2], first[0]);
      const [retry] = await s.log.append(T, [{ key: 'b', value: bytes('2'), dedupKey: 'e2' }]);
      t.deepEqual(retry, first[1]);
      let total = 0;
      for (let p = 0; p < n; p++) total += await s.log.endOffset(T, p);
      t.is(total, 2);
    });
  } else {
    register('dedupKey travels with the record as the dedup-key header', async (t, s) => {
      const { t: T } = await topic(s, 'dedup');
      const positions = await s.log.append(T, [
        { key: 'a', value: bytes('1'), dedupKey: 'e1' },
        { key: 'b', value: bytes('2'), dedupKey: 'e2', headers: { other: 'kept' } },
        { key: 'a', value: bytes('3') },
      ]);
      t.is(positions.length, 3);
      const seen = [];
      for (const pos of positions) {
        const [r] = await s.log.read(T, pos.partition, pos.offset, 1);
        seen.push([r && text(r), r?.headers['dedup-key'], r?.headers.other]);
      }
      t.deepEqual(seen, [
        ['1', 'e1', undefined],
        ['2', 'e2', 'kept'],
        ['3', undefined, undefined],
      ]);
    });
  }

  register('missing topics and bad names are ValidationErrors', async (t, s) => {
    const missing = s.topic('missing');
    await t.throwsAsync(s.log.partitions(missing), { instanceOf: ValidationError });
    await t.throwsAsync(s.log.append(missing, [{ key: 'k', value: bytes('v') }]), { instanceOf: ValidationError });
    await t.throwsAsync(s.log.read(missing, 0, 0, 1), { instanceOf: ValidationError });
    await t.throwsAsync(s.log.endOffset(missing, 0), { instanceOf: ValidationError });
    await t.throwsAsync(s.log.consumer('g-missing', missing).fetch(1), { instanceOf: ValidationError });
    await t.throwsAsync(s.log.ensureTopic('bad name', 1), { instanceOf: ValidationError });
    await t.throwsAsync(s.log.ensureTopic(s.topic('zero'), 0), { instanceOf: ValidationError });
    t.throws(() => s.log.consumer('bad group!', missing), { instanceOf: ValidationError });
  });
}
