/**
 * End to end on the embedded engine with the fake LLM: a fact the model extracts becomes a memory
 * whose provenance names the model and the prompt hash, the conflict judge closes an older fact
 * with a predicate the offline table does not know, and the calls are metered for the tenant.
 */
import test from 'ava';
import type { ConversationEvent } from '../../core/model.js';
import { scopeOf } from '../../core/scope.js';
import { EXTRACTION_JSON_SCHEMA, EXTRACTION_SYSTEM_PROMPT } from '../../activities/llm/extraction.js';
import { promptHashOf } from '../../activities/llm/structured.js';
import { removeDir, tempDir, openTestEngine } from '../helpers/engine.js';
import { startFakeLlm, type FakeReply, type FakeRequest } from '../helpers/fake-llm.js';

const T0 = Date.UTC(2024, 2, 4, 9);
const DAY = 86_400_000;
const scope = scopeOf('acme', 'alice');

const post = (n: number, text: string, at: number): ConversationEvent => ({
  eventId: `llm-e${n}`,
  tenantId: scope.tenantId,
  userId: scope.userId,
  conversationId: 'c1',
  sessionId: 's1',
  occurredAt: at,
  payload: { type: 'MessagePosted', messageId: `llm-m${n}`, role: 'user', speaker: 'Alice', text, attachmentCaptions: [] },
});

const carFact = (make: string) => ({
  text: `Alice drives a ${make}.`,
  subject: 'Alice',
  predicate: 'drives',
  object: make,
  kind: 'fact',
  date: null,
  entities: [make],
  keywords: [make.toLowerCase()],
  importance: 0.7,
  retraction: false,
});

/** A model that knows about cars, adds everything new and thinks one drives one car at a time. */
function respond(req: FakeRequest): FakeReply {
  if (req.schemaName === 'memory_extraction') {
    const make = /Honda|Tesla/.exec(req.userText)?.[0];
    return { kind: 'json', value: { facts: make ? [carFact(make)] : [] } };
  }
  if (req.schemaName === 'memory_consolidation') return { kind: 'json', value: { decision: 'ADD', targetId: null, reason: 'New.' } };
  if (req.schemaName === 'fact_conflict') return { kind: 'json', value: { contradicts: true, reason: 'One car at a time.' } };
  return { kind: 'status', status: 400, message: 'unknown schema' };
}

test('an LLM-extracted fact becomes a memory with the model and prompt hash as provenance', async (t) => {
  const fake = await startFakeLlm({ respond, usage: { prompt: 120, completion: 30 } });
  const dir = tempDir();
  const engine = await openTestEngine(dir, { llm: { baseUrl: fake.url, model: 'configured-model', timeoutMs: 5_000 } });
  t.teardown(async () => {
    await engine.close();
    await fake.close();
    removeDir(dir);
  });

  await engine.publish([post(1, 'I drive a Honda Civic these days.', T0)]);
  await engine.runUntilIdle();
  await engine.publish([post(2, 'I sold it, now I drive a Tesla.', T0 + 30 * DAY)]);
  await engine.runUntilIdle();

  const all = await engine.memories(scope, true);
  const honda = all.find((s) => s.memory.triple?.object === 'Honda');
  const tesla = all.find((s) => s.memory.triple?.object === 'Tesla');
  t.truthy(honda, 'the Honda fact was extracted by the model');
  t.truthy(tesla);

  const detail = await engine.memory(scope, tesla!.memory.id);
  t.is(detail.state.status, 'active');
  t.is(detail.state.memory.provenance.model, 'fake-model-1');
  t.is(detail.state.memory.provenance.promptHash, promptHashOf(EXTRACTION_SYSTEM_PROMPT, EXTRACTION_JSON_SCHEMA));
  t.deepEqual(detail.state.memory.sources.map((s) => s.messageId), ['llm-m2']);

  // "drives" is not in the offline table: the judge found the contradiction and closed the old fact.
  t.is(honda!.status, 'invalidated');
  t.is(honda!.memory.validTo, T0 + 30 * DAY);
  t.is(honda!.invalidatedBy, tesla!.memory.id);

  const extractionCalls = fake.requests.filter((r) => r.schemaName === 'memory_extraction').length;
  const conflictCalls = fake.requests.filter((r) => r.schemaName === 'fact_conflict').length;
  t.is(extractionCalls, 2);
  t.true(conflictCalls >= 1);
  const usage = await engine.ports.store.modelUsage(scope.tenantId);
  const extraction = usage.find((u) => u.purpose === 'extraction');
  t.is(extraction?.calls, 2);
  t.is(extraction?.promptTokens, 240);
  t.is(extraction?.completionTokens, 60);
  t.is(usage.find((u) => u.purpose === 'conflict')?.calls, conflictCalls);
});
