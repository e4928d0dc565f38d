import test from 'ava';
import type { Client } from '@temporalio/client';
import { ValidationError } from '../../core/errors.js';
import type { PositionedEvent } from '../../core/model.js';
import { workflowIdOf } from '../../core/scope.js';
import { chunkEvents, temporalHandOff, TemporalUnavailableError } from '../../infra/cluster/temporal-handoff.js';
import { exampleEvents } from '../helpers/engine.js';

interface Call {
  workflow: unknown;
  options: { workflowId: string; taskQueue: string; args: unknown[]; signal: { name: string }; signalArgs: [PositionedEvent[]] };
}

/** A client whose signalWithStart records its calls (or fails `failures` times first). */
function fakeClient(failures = 0): { client: Client; calls: Call[] } {
  const calls: Call[] = [];
  let left = failures;
  const client = {
    workflow: {
      signalWithStart: async (workflow: unknown, options: Call['options']) => {
        if (left-- > 0) throw new Error('14 UNAVAILABLE: connection refused');
        calls.push({ workflow, options });
        return {};
      },
    },
  } as unknown as Client;
  return { client, calls };
}

const positioned = (offset0 = 0): PositionedEvent[] =>
  exampleEvents()
    .filter((e) => e.userId === 'alice')
    .map((event, i) => ({ event, position: { topic: 'conversation-events', partition: 1, offset: offset0 + i } }));

test('signalWithStart on memory/<tenant>/<user> with the events, the task queue and the batch size', async (t) => {
  const { client, calls } = fakeClient();
  const events = positioned();
  const workflowId = workflowIdOf(events[0]!.event);
  await temporalHandOff(client, { taskQueue: 'engram-memory', batchSize: 32, decayIntervalMs: 3_600_000 })(workflowId, events);
  t.is(calls.length, 1);
  const { options } = calls[0]!;
  t.is(options.workflowId, 'memory/acme/alice');
  t.is(options.taskQueue, 'engram-memory');
  t.deepEqual(options.args, [{ tenantId: 'acme', userId: 'alice', batchSize: 32, decayIntervalMs: 3_600_000 }]);
  t.is(options.signal.name, 'events');
  t.deepEqual(options.signalArgs[0], events);
});

test('large hand-offs are split into ordered signals under the size bound', async (t) => {
  const { client, calls } = fakeClient();
  const events = positioned();
  await temporalHandOff(client, { taskQueue: 'q', batchSize: 8, maxSignalBytes: 2_000 })('memory/acme/alice', events);
  t.true(calls.length > 1);
  t.deepEqual(
    calls.flatMap((c) => c.options.signalArgs[0]),
    events,
  );
  for (const chunk of chunkEvents(events, 2_000)) {
    const bytes = chunk.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0);
    t.true(chunk.length === 1 || bytes <= 2_000, `${chunk.length} events, ${bytes} bytes`);
  }
});

test('an event of another user is refused before anything is signalled', async (t) => {
  const { client, calls } = fakeClient();
  await t.throwsAsync(temporalHandOff(client, { taskQueue: 'q', batchSize: 8 })('memory/acme/bob', positioned()), { instanceOf: ValidationError });
  await t.throwsAsync(temporalHandOff(client, { taskQueue: 'q', batchSize: 8 })('not-a-workflow-id', positioned()), { instanceOf: ValidationError });
  t.is(calls.length, 0);
});

test('a server that cannot be reached is a retriable error, so the bridge retries and commits nothing', async (t) => {
  const { client } = fakeClient(1);
  const err = await t.throwsAsync(temporalHandOff(client, { taskQueue: 'q', batchSize: 8 })('memory/acme/alice', positioned()), {
    instanceOf: TemporalUnavailableError,
  });
  t.true(err?.retriable);
});
