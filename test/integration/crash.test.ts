import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { TOPICS } from '../../core/model.js';
import { seededRng } from '../../core/random.js';
import { decodeMemoryEvent } from '../../schemas/codec.js';
import { RecordSealer } from '../../streams/record-sealer.js';
import { openTestEngine, removeDir, tempDir } from '../helpers/engine.js';
import { syntheticConversations } from '../helpers/synthetic.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
const USERS = 3;
const MESSAGES = 40;
const KILLS = 6;

/** Runs the child; kills it `killAfterMs` after it reports STARTED, or lets it finish. */
function runChild(dataDir: string, killAfterMs: number | null): Promise<{ finished: boolean; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import=tsx', CHILD, dataDir, String(USERS), String(MESSAGES)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterMs !== null && out.includes('STARTED') && !killed) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') return resolve({ finished: out.includes('DONE'), killed: true });
      if (code !== 0) return reject(new Error(`child failed (${code}): ${err}`));
      resolve({ finished: out.includes('DONE'), killed: false });
    });
  });
}

test('SIGKILL at random points: on restart no event is lost and no memory is duplicated', async (t) => {
  const dir = tempDir('engram-crash-');
  t.teardown(() => removeDir(dir));
  const rng = seededRng(2024);
  let kills = 0;
  for (let i = 0; i < KILLS; i++) {
    const result = await runChild(dir, Math.floor(50 + rng.next() * 1500));
    if (result.killed && !result.finished) kills++;
  }
  const last = await runChild(dir, null);
  t.true(last.finished);
  t.true(kills >= KILLS - 1, `the child was killed mid-run ${kills} times`);

  const events = syntheticConversations({ users: USERS, messages: MESSAGES, seed: 7 });
  const engine = await openTestEngine(dir);
  t.teardown(() => engine.close());

  // Nothing lost: every event was processed by its workflow, and the memories are exactly those
  // of an uninterrupted run (ids are deterministic, batches are fixed when they start).
  t.is(engine.ports.runner.pendingInputs(), 0);
  const clean = tempDir('engram-clean-');
  t.teardown(() => removeDir(clean));
  const reference = await openTestEngine(clean, { batchSize: 8 });
  await reference.publish(events);
  await reference.runUntilIdle();
  const summary = async (e: typeof engine): Promise<string[]> => {
    const rows: string[] = [];
    for (let u = 0; u < USERS; u++) {
      for (const s of await e.memories({ tenantId: 'synthetic', userId: `user${u}` }, true)) {
        const m = s.memory;
        rows.push(JSON.stringify([m.id, s.status, s.version, m.text, m.validFrom, m.validTo, m.sources.map((x) => x.messageId)]));
      }
    }
    return rows.sort();
  };
  const expected = await summary(reference);
  await reference.close();
  const actual = await summary(engine);
  t.true(expected.length > USERS * MESSAGES * 0.8);
  t.deepEqual(actual, expected);
  // Every message is accounted for: remembered as a turn, or reinforcing an identical one.
  const turnSources = new Set(actual.map((r) => JSON.parse(r) as unknown[]).flatMap((r) => r[6] as string[]));
  const reinforcedBy = new Set<string>();

  // Nothing duplicated: every memory event id appears once in the log.
  const ids = new Set<string>();
  let records = 0;
  const opener = new RecordSealer(engine.ports.keys);
  for (let p = 0; p < (await engine.ports.log.partitions(TOPICS.memory)); p++) {
    for (const r of await engine.ports.log.read(TOPICS.memory, p, 0, 1_000_000)) {
      const opened = await opener.open(r);
      if (opened.erased) throw new Error(`record ${r.offset} was erased, yet nothing asked for erasure`);
      const e = decodeMemoryEvent(opened.bytes);
      ids.add(e.eventId);
      if (e.payload.type === 'MemoryReinforced') reinforcedBy.add(e.causationId);
      records++;
    }
  }
  for (const e of events) {
    if (e.payload.type !== 'MessagePosted') continue;
    t.true(turnSources.has(e.payload.messageId) || reinforcedBy.has(e.eventId), `${e.payload.messageId} is accounted for`);
  }
  t.is(ids.size, records, 'no memory event was appended twice');
  t.is(await engine.projectors.lag(), 0, 'every projection caught up');
  t.log(`${events.length} events, ${kills} crashes: 0 lost, 0 duplicated (${records} memory events)`);
});
