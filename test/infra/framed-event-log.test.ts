import test from 'ava';
import { DecodeError, StorageError } from '../../core/errors.js';
import { TOPICS } from '../../core/model.js';
import { FramedEventLog, type WireFraming } from '../../infra/cluster/framed-event-log.js';
import { SqliteEventLog } from '../../infra/embedded/event-log.js';
import { removeDir, tempDir } from '../helpers/engine.js';

/** A toy framing: one 0xEE byte in front; anything else is undecodable. */
const framing = (state: { down: boolean }): WireFraming => ({
  toWire: (b) => Uint8Array.from([0xee, ...b]),
  fromWire: async (b) => {
    if (state.down) throw new StorageError('registry unreachable', { retriable: true });
    if (b[0] !== 0xee) throw new DecodeError('not framed');
    return b.subarray(1);
  },
});

test('framed topics are stored framed and read back unframed; other topics pass through', async (t) => {
  const dir = tempDir();
  const inner = SqliteEventLog.open(`${dir}/log.db`);
  const state = { down: false };
  const log = new FramedEventLog(inner, framing(state), new Set([TOPICS.conversation]));
  try {
    for (const topic of [TOPICS.conversation, TOPICS.conversationDlq]) await log.ensureTopic(topic, 1);
    await log.append(TOPICS.conversation, [{ key: 'acme/alice', value: Uint8Array.from([1, 2, 3]) }]);
    await log.append(TOPICS.conversationDlq, [{ key: 'acme/alice', value: Uint8Array.from([9]) }]);
    // Another producer wrote bytes in no framing at all.
    await inner.append(TOPICS.conversation, [{ key: 'acme/alice', value: Uint8Array.from([7, 7]) }]);

    t.deepEqual([...((await inner.read(TOPICS.conversation, 0, 0, 1))[0]?.value ?? [])], [0xee, 1, 2, 3]);
    const read = await log.read(TOPICS.conversation, 0, 0, 10);
    t.deepEqual(read.map((r) => [...r.value]), [[1, 2, 3], [7, 7]], 'unframable bytes pass through for the bridge to dead-letter');
    t.deepEqual([...((await log.read(TOPICS.conversationDlq, 0, 0, 1))[0]?.value ?? [])], [9]);

    const consumer = log.consumer('g', TOPICS.conversation);
    t.deepEqual((await consumer.fetch(10)).map((r) => [...r.value]), [[1, 2, 3], [7, 7]]);

    // A registry outage is retriable and nothing is committed.
    state.down = true;
    await t.throwsAsync(consumer.fetch(10), { instanceOf: StorageError });
    t.is(await consumer.lag(), 2);
  } finally {
    await log.close();
    removeDir(dir);
  }
});
