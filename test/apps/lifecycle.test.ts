import test from 'ava';
import { StorageError, ValidationError } from '../../core/errors.js';
import { Backoff, runLoop } from '../../apps/roles/lifecycle.js';

test('backoff doubles while idle, up to the cap, and resets on work', (t) => {
  const b = new Backoff(10, 50);
  t.deepEqual([b.next(0), b.next(0), b.next(0), b.next(0)], [10, 20, 40, 50]);
  t.is(b.next(3), 0);
  t.is(b.next(0), 10);
});

test('a role rides out retriable failures and stops when signalled', async (t) => {
  const controller = new AbortController();
  const logged: string[] = [];
  let calls = 0;
  await runLoop(
    'test',
    controller.signal,
    async () => {
      calls++;
      if (calls <= 2) throw new StorageError('qdrant unreachable', { retriable: true });
      if (calls === 4) controller.abort();
      return 1;
    },
    (line) => logged.push(line),
    { failing: new Backoff(1, 2), idle: new Backoff(1, 2) },
  );
  t.is(calls, 4);
  t.is(logged.length, 2);
  t.regex(logged[0] ?? '', /qdrant unreachable; retrying in \d+ ms/);
});

test('a non-retriable failure stops the role with that error', async (t) => {
  const controller = new AbortController();
  await t.throwsAsync(
    runLoop(
      'test',
      controller.signal,
      async () => {
        throw new ValidationError('bad settings');
      },
      () => {},
    ),
    { instanceOf: ValidationError },
  );
});
