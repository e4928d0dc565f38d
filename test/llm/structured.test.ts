import test, { type ExecutionContext } from 'ava';
import { z } from 'zod';
import type { LlmClient, LlmRequest } from '../../core/ports.js';
import { OpenAiCompatibleClient } from '../../infra/llm/openai-client.js';
import { callStructured, canonicalJson, promptHashOf, validateContent } from '../../activities/llm/structured.js';
import { startFakeLlm } from '../helpers/fake-llm.js';

const Answer = z.object({ city: z.string().min(1), confidence: z.number().min(0).max(1) });
const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['city', 'confidence'],
  properties: { city: { type: 'string' }, confidence: { type: 'number' } },
};
const SYSTEM = 'Return where the user lives.';
const REQUEST: LlmRequest = {
  messages: [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: 'I live in Lisbon.' },
  ],
  schemaName: 'city',
  schema: SCHEMA,
};

async function setup(t: ExecutionContext, timeoutMs = 5_000) {
  const fake = await startFakeLlm({ usage: { prompt: 30, completion: 5 } });
  t.teardown(() => fake.close());
  const client = new OpenAiCompatibleClient({ baseUrl: fake.url, model: 'configured-model', timeoutMs, mode: 'json_schema' });
  return { fake, client };
}

test('a valid first answer is ok, with the served model, the prompt hash and its tokens', async (t) => {
  const { fake, client } = await setup(t);
  fake.script({ kind: 'json', value: { city: 'Lisbon', confidence: 0.9 } });
  const r = await callStructured(client, REQUEST, Answer, 'extraction');
  t.deepEqual(r.value, { city: 'Lisbon', confidence: 0.9 });
  t.deepEqual(r.usage, {
    purpose: 'extraction',
    model: 'fake-model-1',
    promptHash: promptHashOf(SYSTEM, SCHEMA),
    promptTokens: 30,
    completionTokens: 5,
    outcome: 'ok',
  });
  t.is(fake.requests.length, 1);
});

test('malformed JSON gets one repair message with the invalid output and the errors, then is repaired', async (t) => {
  const { fake, client } = await setup(t);
  fake.script({ kind: 'content', content: '{"city": "Lisbon", confidence: high' }, { kind: 'json', value: { city: 'Lisbon', confidence: 1 } });
  const r = await callStructured(client, REQUEST, Answer, 'extraction');
  t.deepEqual(r.value, { city: 'Lisbon', confidence: 1 });
  t.is(r.usage.outcome, 'repaired');
  t.is(r.usage.promptTokens, 60, 'tokens are summed over both calls');
  t.is(r.usage.completionTokens, 10);

  const repair = fake.requests[1]?.body.messages as { role: string; content: string }[];
  t.is(repair.length, 4);
  t.deepEqual(repair.slice(0, 2), [...REQUEST.messages]);
  t.deepEqual(repair[2], { role: 'assistant', content: '{"city": "Lisbon", confidence: high' });
  t.is(repair[3]?.role, 'user');
  t.regex(repair[3]?.content ?? '', /not valid JSON/);
  t.regex(repair[3]?.content ?? '', /corrected JSON object only/);
});

test('schema-violating JSON names the failing fields in the repair request', async (t) => {
  const { fake, client } = await setup(t);
  fake.script({ kind: 'json', value: { city: '', confidence: 3 } }, { kind: 'json', value: { city: 'Porto', confidence: 0.5 } });
  const r = await callStructured(client, REQUEST, Answer, 'consolidation');
  t.is(r.usage.outcome, 'repaired');
  t.deepEqual(r.value, { city: 'Porto', confidence: 0.5 });
  const repair = fake.requests[1]?.userText ?? '';
  t.regex(repair, /city:/);
  t.regex(repair, /confidence:/);
});

test('a repair that is still invalid falls back: no value, outcome fallback, tokens of both calls', async (t) => {
  const { fake, client } = await setup(t);
  fake.script({ kind: 'content', content: 'Sure! The user lives in Lisbon.' }, { kind: 'json', value: { town: 'Lisbon' } });
  const r = await callStructured(client, REQUEST, Answer, 'conflict');
  t.is(r.value, null);
  t.is(r.usage.outcome, 'fallback');
  t.is(r.usage.purpose, 'conflict');
  t.is(r.usage.promptTokens, 60);
  t.is(fake.requests.length, 2, 'exactly one repair attempt');
});

test('a timeout is an error outcome with no value and no tokens', async (t) => {
  const { fake, client } = await setup(t, 150);
  fake.script({ kind: 'hang' });
  const r = await callStructured(client, REQUEST, Answer, 'extraction');
  t.is(r.value, null);
  t.is(r.usage.outcome, 'error');
  t.is(r.usage.model, 'configured-model');
  t.is(r.usage.promptTokens, 0);
});

test('an HTTP error during the repair keeps the first call tokens', async (t) => {
  const { fake, client } = await setup(t);
  fake.script({ kind: 'content', content: 'nope' }, { kind: 'status', status: 500 });
  const r = await callStructured(client, REQUEST, Answer, 'extraction');
  t.is(r.value, null);
  t.is(r.usage.outcome, 'error');
  t.is(r.usage.promptTokens, 30);
});

test('an error that is not an LlmError falls back', async (t) => {
  const broken: LlmClient = {
    model: 'broken',
    complete: async () => {
      throw new TypeError('boom');
    },
  };
  const r = await callStructured(broken, REQUEST, Answer, 'extraction');
  t.is(r.value, null);
  t.is(r.usage.outcome, 'fallback');
});

test('a fenced JSON answer is accepted', (t) => {
  const v = validateContent('```json\n{"city":"Rome","confidence":0.2}\n```', Answer);
  t.true(v.ok);
});

test('the prompt hash depends on the prompt and the schema, not on key order', (t) => {
  const reordered = { properties: { confidence: { type: 'number' }, city: { type: 'string' } }, required: ['city', 'confidence'], additionalProperties: false, type: 'object' };
  t.is(promptHashOf(SYSTEM, reordered), promptHashOf(SYSTEM, SCHEMA));
  t.not(promptHashOf(`${SYSTEM} `, SCHEMA), promptHashOf(SYSTEM, SCHEMA));
  t.not(promptHashOf(SYSTEM, { ...SCHEMA, required: ['city'] }), promptHashOf(SYSTEM, SCHEMA));
  t.regex(promptHashOf(SYSTEM, SCHEMA), /^[0-9a-f]{64}$/);
  t.is(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x' }), '{"a":"x","b":[2,{"c":null,"d":1}]}');
});
