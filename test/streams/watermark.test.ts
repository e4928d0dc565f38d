import test from 'ava';
import type { CheckpointStore } from '../../core/ports.js';
import { awaitProjections, ProjectionLagError } from '../../streams/projectors/watermark.js';

/** A checkpoint store whose offsets advance by one on every read (a projector catching up). */
function advancing(start: number, step: number): CheckpointStore & { reads: number } {
  const store = {
    reads: 0,
    async checkpoint() {
      return start + step * store.reads++;
    },
    async saveCheckpoint() {},
  };
  return store;
}

const position = { topic: 'memory-events', partition: 2, offset: 10 };
const noSleep = async (): Promise<void> => {};

test('resolves once every projection is past the offset', async (t) => {
  const a = advancing(8, 1);
  const b = advancing(11, 0);
  await awaitProjections(
    [
      { name: 'a', checkpoints: a },
      { name: 'b', checkpoints: b },
    ],
    position,
    { sleep: noSleep },
  );
  t.is(a.reads, 4, 'checkpoint 11 (the offset after 10) is reached on the fourth read');
});

test('a projection that never catches up fails with a retriable lag error naming it', async (t) => {
  const err = await t.throwsAsync(
    awaitProjections(
      [
        { name: 'fast', checkpoints: advancing(100, 0) },
        { name: 'stuck', checkpoints: advancing(3, 0) },
      ],
      position,
      { timeoutMs: 500, pollMs: 50, sleep: noSleep },
    ),
    { instanceOf: ProjectionLagError },
  );
  t.true(err?.retriable);
  t.deepEqual(err?.details.projections, ['stuck']);
});
