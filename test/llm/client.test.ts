import test, { type ExecutionContext } from 'ava';
import { EngramError } from '../../core/errors.js';
import type { LlmRequest } from '../../core/ports.js';
import { loadConfig } from '../../infra/config.js';
import { LlmError } from '../../infra/llm/errors.js';
import { chatRequestBody, createLlmClient, OpenAiCompatibleClient, parseChatResponse } from '../../infra/llm/openai-client.js';
import { startFakeLlm } from '../helpers/fake-llm.js';

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['answer'],
  properties: { answer: { type: 'string' } },
};
const REQUEST: LlmRequest = {
  messages: [
    { role: 'system', content: 'You answer in JSON.' },
    { role: 'user', content: 'Say hi.' },
  ],
  schemaName: 'greeting',
  schema: SCHEMA,
  maxTokens: 50,
};

const client = (url: string, over: Partial<ConstructorParameters<typeof OpenAiCompatibleClient>[0]> = {}) =>
  new OpenAiCompatibleClient({ baseUrl: url, model: 'test-model', timeoutMs: 5_000, mode: 'json_schema', ...over });

/** The LlmError a promise rejects with. */
async function llmErrorOf(t: ExecutionContext, p: Promise<unknown>): Promise<LlmError> {
  const err = await t.throwsAsync(p, { instanceOf: LlmError });
  if (!err) throw new Error('expected an LlmError');
  t.true(err instanceof EngramError);
  t.is(err.code, 'llm');
  return err;
}

test('json_schema mode: POSTs the strict response_format, the key as a bearer token, and parses content and tokens', async (t) => {
  const fake = await startFakeLlm({ usage: { prompt: 42, completion: 7 } });
  t.teardown(() => fake.close());
  fake.script({ kind: 'json', value: { answer: 'hi' } });
  const res = await client(`${fake.url}/`, { apiKey: 'sk-test' }).complete(REQUEST);

  t.deepEqual(JSON.parse(res.content), { answer: 'hi' });
  t.is(res.model, 'fake-model-1');
  t.is(res.promptTokens, 42);
  t.is(res.completionTokens, 7);

  const req = fake.requests[0];
  t.truthy(req);
  t.is(req?.method, 'POST');
  t.is(req?.path, '/v1/chat/completions', 'a trailing slash on the base URL is tolerated');
  t.is(req?.headers.authorization, 'Bearer sk-test');
  t.regex(String(req?.headers['content-type']), /application\/json/);
  t.is(req?.body.model, 'test-model');
  t.deepEqual(req?.body.messages, REQUEST.messages);
  t.is(req?.body.max_tokens, 50);
  t.is(req?.body.temperature, 0);
  t.deepEqual(req?.body.response_format, { type: 'json_schema', json_schema: { name: 'greeting', schema: SCHEMA, strict: true } });
  t.is(req?.body.tools, undefined);
});

test('tools mode: forces one function whose parameters are the schema and reads its arguments', async (t) => {
  const fake = await startFakeLlm();
  t.teardown(() => fake.close());
  fake.script({ kind: 'json', value: { answer: 'hello' } });
  const res = await client(fake.url, { mode: 'tools' }).complete(REQUEST);

  t.deepEqual(JSON.parse(res.content), { answer: 'hello' });
  const body = fake.requests[0]?.body;
  t.is(body.response_format, undefined);
  t.deepEqual(body.tools, [
    { type: 'function', function: { name: 'greeting', description: 'Return the greeting object.', parameters: SCHEMA, strict: true } },
  ]);
  t.deepEqual(body.tool_choice, { type: 'function', function: { name: 'greeting' } });
});

test('without a key no authorization header is sent; missing usage counts as zero tokens', async (t) => {
  const fake = await startFakeLlm({ usage: null });
  t.teardown(() => fake.close());
  fake.script({ kind: 'content', content: '{"answer":"x"}' });
  const res = await client(fake.url).complete(REQUEST);
  t.is(fake.requests[0]?.headers.authorization, undefined);
  t.is(res.promptTokens, 0);
  t.is(res.completionTokens, 0);
});

test('429 and 5xx are retriable LlmErrors; other 4xx are not and quote the server message', async (t) => {
  const fake = await startFakeLlm();
  t.teardown(() => fake.close());
  const c = client(fake.url);

  fake.script({ kind: 'status', status: 429, message: 'rate limited' });
  const limited = await llmErrorOf(t, c.complete(REQUEST));
  t.true(limited.retriable);
  t.is(limited.details.status, 429);

  fake.script({ kind: 'status', status: 503, message: 'overloaded' });
  t.true((await llmErrorOf(t, c.complete(REQUEST))).retriable);

  fake.script({ kind: 'status', status: 400, message: 'response_format is not supported' });
  const bad = await llmErrorOf(t, c.complete(REQUEST));
  t.false(bad.retriable);
  t.regex(bad.message, /HTTP 400: response_format is not supported/);
});

test('a response without content is a non-retriable LlmError', async (t) => {
  const fake = await startFakeLlm();
  t.teardown(() => fake.close());
  fake.script({ kind: 'empty' });
  const err = await llmErrorOf(t, client(fake.url).complete(REQUEST));
  t.false(err.retriable);
  t.regex(err.message, /no content/);
});

test('a server that does not answer in time is a retriable timeout', async (t) => {
  const fake = await startFakeLlm();
  t.teardown(() => fake.close());
  fake.script({ kind: 'hang' });
  const err = await llmErrorOf(t, client(fake.url, { timeoutMs: 150 }).complete(REQUEST));
  t.true(err.retriable);
  t.regex(err.message, /did not answer within 150 ms/);
});

test('an unreachable server is a retriable network error', async (t) => {
  const fake = await startFakeLlm();
  const url = fake.url;
  await fake.close();
  const err = await llmErrorOf(t, client(url).complete(REQUEST));
  t.true(err.retriable);
  t.regex(err.message, /cannot reach the LLM/);
});

test('parseChatResponse: refusals, non-objects and tool calls with object arguments', (t) => {
  t.throws(() => parseChatResponse([], 'json_schema', 'm'), { instanceOf: LlmError });
  const refused = t.throws(() => parseChatResponse({ choices: [{ message: { content: null, refusal: 'no' } }] }, 'json_schema', 'm'), { instanceOf: LlmError });
  t.regex(refused?.message ?? '', /refused: no/);
  const res = parseChatResponse(
    { choices: [{ message: { tool_calls: [{ function: { name: 'x', arguments: { a: 1 } } }] } }], usage: { prompt_tokens: 3 } },
    'tools',
    'configured',
  );
  t.deepEqual(JSON.parse(res.content), { a: 1 });
  t.is(res.model, 'configured');
  t.is(res.promptTokens, 3);
  t.is(res.completionTokens, 0);
});

test('chatRequestBody leaves max_tokens out when not asked', (t) => {
  const body = chatRequestBody('m', { ...REQUEST, maxTokens: undefined }, 'json_schema');
  t.false('max_tokens' in body);
});

test('createLlmClient: null without an LLM, a client with base URL and model', (t) => {
  t.is(createLlmClient(loadConfig({})), null);
  const llm = createLlmClient(loadConfig({ ENGRAM_LLM_BASE_URL: 'http://127.0.0.1:1/v1', ENGRAM_LLM_MODEL: 'qwen2.5:7b' }));
  t.true(llm instanceof OpenAiCompatibleClient);
  t.is(llm?.model, 'qwen2.5:7b');
});
