import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import kafkajs from 'kafkajs';
import type { EngramError } from '../../core/errors.js';
import { ValidationError } from '../../core/errors.js';
import type { LogRecord } from '../../core/ports.js';
import type { Clock } from '../../core/random.js';
import { seededRng } from '../../core/random.js';
import { SqliteEventLog } from '../../infra/embedded/event-log.js';
import { murmur2, partitionForKey, toPositive } from '../../infra/embedded/partitioner.js';

const { Partitioners } = kafkajs;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
}

function fixedClock(start = 1_700_000_000_000): Clock & { t: number } {
  return {
    t: start,
    now() {
      return this.t;
    },
  };
}

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const text = (r: LogRecord): string => Buffer.from(r.value).toString('utf8');

/** Opens a fresh log in a temp dir and removes it after the test. */
function withLog(t: { teardown(fn: () => void): void }, clock: Clock = fixedClock()): { log: SqliteEventLog; file: string } {
  const dir = tempDir();
  const file = path.join(dir, 'log.sqlite');
  const log = SqliteEventLog.open(file, { clock });
  t.teardown(() => {
    void log.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { log, file };
}

// ---------------------------------------------------------------- partitioner

test('partitioner matches kafkajs DefaultPartitioner on many keys', (t) => {
  const partitioner = Partitioners.DefaultPartitioner();
  const rng = seededRng(42);
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-/é漢😀';
  const keys: string[] = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'tenant-1/user-1', 'acme/alice'];
  for (let i = 0; i < 2000; i++) {
    const len = Math.floor(rng.next() * 40);
    let k = '';
    for (let j = 0; j < len; j++) k += [...alphabet][Math.floor(rng.next() * [...alphabet].length)];
    keys.push(k);
  }
  let mismatches = 0;
  for (const numPartitions of [1, 2, 3, 6, 12, 100]) {
    const partitionMetadata = Array.from({ length: numPartitions }, (_, p) => ({
      partitionErrorCode: 0,
      partitionId: p,
      leader: 0,
      replicas: [0],
      isr: [0],
      offlineReplicas: [],
    }));
    for (const key of keys) {
      const expected = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
      if (partitionForKey(key, numPartitions) !== expected) mismatches++;
    }
  }
  t.is(mismatches, 0);
});

test('murmur2 matches known Kafka values and toPositive clears the sign bit', (t) => {
  // Reference values from Kafka's UtilsTest.testMurmur2.
  t.is(murmur2(bytes('21')), -973932308);
  t.is(murmur2(bytes('foobar')), -790332482);
  t.is(murmur2(bytes('a-little-bit-long-string')), -985981536);
  t.is(murmur2(bytes('a-little-bit-longer-string')), -1486304829);
  t.is(murmur2(bytes('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')), -58897971);
  t.is(murmur2(new Uint8Array([97, 98, 99])), 479470107);
  t.is(toPositive(-1), 0x7fffffff);
  t.is(toPositive(5), 5);
  t.throws(() => partitionForKey('k', 0), { instanceOf: ValidationError });
});

// ---------------------------------------------------------------- topics and append

test('records land in the partition of their key, with dense offsets from 0', async (t) => {
  const { log } = withLog(t);
  await log.ensureTopic('events', 4);
  const keys = Array.from({ length: 40 }, (_, i) => `tenant/user-${i % 7}`);
  const positions = await log.append(
    'events',
    keys.map((key, i) => ({ key, value: bytes(`v${i}`) })),
  );
  t.is(positions.length, 40);
  const perPartition = new Map<number, number[]>();
  positions.forEach((pos, i) => {
    t.is(pos.topic, 'events');
    t.is(pos.partition, partitionForKey(keys[i]!, 4));
    const list = perPartition.get(pos.partition) ?? [];
    list.push(pos.offset);
    perPartition.set(pos.partition, list);
  });
  for (let p = 0; p < 4; p++) {
    const offsets = perPartition.get(p) ?? [];
    t.deepEqual(offsets, offsets.map((_, i) => i), `partition ${p} offsets are dense`);
    t.is(await log.endOffset('events', p), offsets.length);
  }
  // Same key, same partition, in append order.
  const p0 = partitionForKey('tenant/user-0', 4);
  const read = await log.read('events', p0, 0, 100);
  const user0 = read.filter((r) => r.key === 'tenant/user-0').map(text);
  t.deepEqual(user0, ['v0', 'v7', 'v14', 'v21', 'v28', 'v35']);
});

test('records keep key, value bytes, headers and the injected clock time', async (t) => {
  const clock = fixedClock(1234);
  const { log } = withLog(t, clock);
  await log.ensureTopic('t', 1);
  await log.append('t', [{ key: 'k', value: new Uint8Array([0, 255, 7]), headers: { a: '1', b: 'x' } }]);
  clock.t = 5678;
  await log.append('t', [{ key: 'k', value: new Uint8Array([]) }]);
  const [r0, r1] = await log.read('t', 0, 0, 10);
  t.truthy(r0 && r1);
  t.deepEqual([...r0!.value], [0, 255, 7]);
  t.deepEqual(r0!.headers, { a: '1', b: 'x' });
  t.is(r0!.timestamp, 1234);
  t.is(r0!.key, 'k');
  t.deepEqual(r1!.headers, {});
  t.is(r1!.value.length, 0);
  t.is(r1!.timestamp, 5678);
  t.deepEqual(await log.read('t', 0, 1, 10).then((rs) => rs.map((r) => r.offset)), [1]);
  t.deepEqual(await log.read('t', 0, 2, 10), []);
});

test('dedupKey makes appends idempotent, within a batch and across retries', async (t) => {
  const { log } = withLog(t);
  await log.ensureTopic('t', 3);
  const first = await log.append('t', [
    { key: 'a', value: bytes('1'), dedupKey: 'e1' },
    { key: 'b', value: bytes('2'), dedupKey: 'e2' },
    { key: 'a', value: bytes('1 again'), dedupKey: 'e1' },
    { key: 'a', value: bytes('no dedup') },
  ]);
  t.deepEqual(first[2], first[0]);
  const retry = await log.append('t', [
    { key: 'b', value: bytes('2'), dedupKey: 'e2' },
    { key: 'c', value: bytes('3'), dedupKey: 'e3' },
  ]);
  t.deepEqual(retry[0], first[1]);
  let total = 0;
  for (let p = 0; p < 3; p++) total += await log.endOffset('t', p);
  t.is(total, 4, 'e1, e2, the undeduplicated record and e3');
  // Dedup keys are per topic.
  await log.ensureTopic('other', 1);
  const [o] = await log.append('other', [{ key: 'a', value: bytes('1'), dedupKey: 'e1' }]);
  t.deepEqual(o, { topic: 'other', partition: 0, offset: 0 });
});

test('ensureTopic checks partitions; missing topics and bad arguments are ValidationErrors', async (t) => {
  const { log } = withLog(t);
  await log.ensureTopic('t', 2);
  await log.ensureTopic('t', 2);
  t.is(await log.partitions('t'), 2);
  const err = await t.throwsAsync(log.ensureTopic('t', 3), { instanceOf: ValidationError });
  t.false((err as EngramError).retriable);
  await t.throwsAsync(log.append('missing', [{ key: 'k', value: bytes('v') }]), { instanceOf: ValidationError });
  await t.throwsAsync(log.read('missing', 0, 0, 1), { instanceOf: ValidationError });
  await t.throwsAsync(log.partitions('missing'), { instanceOf: ValidationError });
  await t.throwsAsync(log.consumer('g', 'missing').fetch(1), { instanceOf: ValidationError });
  await t.throwsAsync(log.endOffset('t', 2), { instanceOf: ValidationError });
  await t.throwsAsync(log.ensureTopic('bad name', 1), { instanceOf: ValidationError });
  await t.throwsAsync(log.ensureTopic('t2', 0), { instanceOf: ValidationError });
  t.throws(() => log.consumer('bad group!', 't'), { instanceOf: ValidationError });
});

// ---------------------------------------------------------------- consumer groups

test('consumer groups fetch past committed offsets, commit, and report lag', async (t) => {
  const { log } = withLog(t);
  await log.ensureTopic('t', 3);
  const records = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: bytes(String(i)) }));
  await log.append('t', records);
  const c = log.consumer('g1', 't');
  t.is(await c.lag(), 30);

  // Fetch without commit re-delivers (at-least-once).
  const a = await c.fetch(10);
  const again = await c.fetch(10);
  t.is(a.length, 10);
  t.is(again.length, 10);

  // Round-robin: a fetch draws from every non-empty partition, from the committed offset (0 here)
  // on, in offset order within each; the re-delivery starts from the same offsets.
  for (const fetched of [a, again]) {
    t.is(new Set(fetched.map((r) => r.partition)).size, 3);
    for (let p = 0; p < 3; p++) {
      const offs = fetched.filter((r) => r.partition === p).map((r) => r.offset);
      t.deepEqual(offs, offs.map((_, i) => i));
    }
  }

  await c.commit(a);
  t.is(await c.lag(), 20);

  // Drain; every record is seen exactly once overall.
  const seen = a.map(text);
  for (;;) {
    const batch = await c.fetch(7);
    if (batch.length === 0) break;
    t.true(batch.length <= 7);
    seen.push(...batch.map(text));
    await c.commit(batch);
  }
  t.deepEqual(seen.map(Number).sort((x, y) => x - y), records.map((_, i) => i));
  t.is(await c.lag(), 0);

  // Another group has its own offsets; a new consumer of g1 resumes where g1 committed.
  t.is(await log.consumer('g2', 't').lag(), 30);
  await log.append('t', [{ key: 'k0', value: bytes('30') }]);
  const resumed = await log.consumer('g1', 't').fetch(100);
  t.deepEqual(resumed.map(text), ['30']);
});

test('fetch is fair across partitions: a small max does not starve later partitions', async (t) => {
  const { log } = withLog(t);
  await log.ensureTopic('t', 4);
  // Ten records in every partition.
  const keysByPartition = new Map<number, string>();
  for (let i = 0; keysByPartition.size < 4; i++) {
    const p = partitionForKey(`key${i}`, 4);
    if (!keysByPartition.has(p)) keysByPartition.set(p, `key${i}`);
  }
  for (const key of keysByPartition.values()) {
    await log.append('t', Array.from({ length: 10 }, (_, i) => ({ key, value: bytes(String(i)) })));
  }
  const c = log.consumer('g', 't');
  const partitionsSeen = new Set<number>();
  for (let i = 0; i < 4; i++) {
    const [r] = await c.fetch(1);
    partitionsSeen.add(r!.partition);
    t.is(r!.offset, 0);
  }
  t.is(partitionsSeen.size, 4);
  const eight = await c.fetch(8);
  const counts = [0, 0, 0, 0];
  for (const r of eight) counts[r.partition]!++;
  t.deepEqual(counts, [2, 2, 2, 2]);
});

test('fetch fills from other partitions when some are short', async (t) => {
  const { log } = withLog(t);
  await log.ensureTopic('t', 2);
  const k0 = ['a', 'b', 'c', 'd', 'e'].find((k) => partitionForKey(k, 2) === 0)!;
  const k1 = ['a', 'b', 'c', 'd', 'e'].find((k) => partitionForKey(k, 2) === 1)!;
  await log.append('t', [{ key: k0, value: bytes('x') }]);
  await log.append('t', Array.from({ length: 9 }, () => ({ key: k1, value: bytes('y') })));
  const got = await log.consumer('g', 't').fetch(6);
  t.is(got.length, 6);
  t.is(got.filter((r) => r.partition === 0).length, 1);
  t.deepEqual(
    got.filter((r) => r.partition === 1).map((r) => r.offset),
    [0, 1, 2, 3, 4],
  );
});

test('commits never move backwards and cannot pass the end', async (t) => {
  const { log } = withLog(t);
  await log.ensureTopic('t', 1);
  await log.append('t', Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: bytes(String(i)) })));
  const c = log.consumer('g', 't');
  await c.commit([{ topic: 't', partition: 0, offset: 3 }, { topic: 't', partition: 0, offset: 1 }]);
  t.is(await c.lag(), 1);
  await c.commit([{ topic: 't', partition: 0, offset: 0 }]);
  t.is(await c.lag(), 1, 'an older commit is ignored');
  t.deepEqual((await c.fetch(10)).map(text), ['4']);
  await t.throwsAsync(c.commit([{ topic: 't', partition: 0, offset: 5 }]), { instanceOf: ValidationError });
  await t.throwsAsync(c.commit([{ topic: 'u', partition: 0, offset: 0 }]), { instanceOf: ValidationError });
  await t.throwsAsync(c.commit([{ topic: 't', partition: 1, offset: 0 }]), { instanceOf: ValidationError });
  await c.commit([]);
  t.is(await c.lag(), 1);
});

test('reopening after close keeps topics, records, dedup keys and group offsets', async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'sub', 'log.sqlite');
  const log1 = SqliteEventLog.open(file, { clock: fixedClock() });
  await log1.ensureTopic('t', 2);
  const pos = await log1.append('t', [
    { key: 'a', value: bytes('1'), dedupKey: 'd1' },
    { key: 'b', value: bytes('2') },
    { key: 'c', value: bytes('3') },
  ]);
  const c1 = log1.consumer('g', 't');
  await c1.commit([pos[0]!]);
  await log1.close();
  await log1.close(); // idempotent

  const log2 = SqliteEventLog.open(file, { clock: fixedClock() });
  t.teardown(() => void log2.close());
  t.is(await log2.partitions('t'), 2);
  await t.throwsAsync(log2.ensureTopic('t', 4), { instanceOf: ValidationError });
  const [again] = await log2.append('t', [{ key: 'a', value: bytes('1'), dedupKey: 'd1' }]);
  t.deepEqual(again, pos[0]);
  t.is(await log2.consumer('g', 't').lag(), 2);
  const [next] = await log2.append('t', [{ key: 'a', value: bytes('4') }]);
  t.is(next!.partition, pos[0]!.partition);
  t.is(next!.offset, (await log2.endOffset('t', next!.partition)) - 1);
  t.true(next!.offset > pos[0]!.offset);
});

test('appends and consumes tens of thousands of records', async (t) => {
  const { log } = withLog(t);
  await log.ensureTopic('big', 8);
  const n = 20_000;
  const records = Array.from({ length: n }, (_, i) => ({
    key: `tenant/u${i % 97}`,
    value: bytes(`payload-${i}`),
    dedupKey: `e${i}`,
  }));
  const positions = await log.append('big', records);
  t.is(positions.length, n);
  let total = 0;
  for (let p = 0; p < 8; p++) total += await log.endOffset('big', p);
  t.is(total, n);
  const c = log.consumer('g', 'big');
  let consumed = 0;
  for (;;) {
    const batch = await c.fetch(2000);
    if (batch.length === 0) break;
    consumed += batch.length;
    await c.commit(batch);
  }
  t.is(consumed, n);
});
