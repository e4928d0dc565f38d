/**
 * One structured call to a language model: send the request, validate the content against a zod
 * schema, and on failure ask once for a repair (the invalid output and what was wrong with it).
 * Whatever happens, the caller gets a value or null (then it takes the offline path) and the
 * usage to record: model, prompt hash, tokens over both calls, and the outcome.
 */
import type { z } from 'zod';
import { EngramError } from '../../core/errors.js';
import { sha256Hex } from '../../core/ids.js';
import type { ModelUsage } from '../../core/pipeline.js';
import type { LlmClient, LlmMessage, LlmRequest } from '../../core/ports.js';

/** The `code` of errors thrown by LLM clients (infra/llm/errors.ts LlmError). */
const LLM_ERROR_CODE = 'llm';

/** What a structured call returns: the validated value (null: use the offline path) and its usage. */
export interface StructuredResult<T> {
  readonly value: T | null;
  readonly usage: ModelUsage;
}

/** JSON with object keys sorted at every level: one text per schema, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** SHA-256 hex of a system prompt and its canonical output schema: names the prompt version. */
export function promptHashOf(systemPrompt: string, schema: Readonly<Record<string, unknown>>): string {
  return sha256Hex(`${systemPrompt}\u0000${canonicalJson(schema)}`);
}

/** Parses and validates model output; the problems, one per line, when it does not fit. */
export function validateContent<T>(content: string, schema: z.ZodType<T>): { ok: true; value: T } | { ok: false; errors: string } {
  let json: unknown;
  try {
    json = JSON.parse(stripFence(content));
  } catch (err) {
    return { ok: false, errors: `not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const errors = parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
  return { ok: false, errors: errors.slice(0, 20).join('\n') };
}

/** Removes a Markdown code fence some models wrap JSON in. */
function stripFence(content: string): string {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(content);
  return m ? (m[1] as string) : content;
}

/** The message asking the model to correct its previous output. */
export function repairMessage(errors: string): LlmMessage {
  return {
    role: 'user',
    content:
      'Your previous reply does not match the required JSON schema. Problems:\n' +
      `${errors}\n` +
      'Reply again with the corrected JSON object only: no explanation, no Markdown.',
  };
}

/**
 * Calls the model for a schema-validated value, with one repair attempt. Outcomes: 'ok' (first
 * answer valid), 'repaired' (second valid), 'fallback' (both invalid, or a non-LLM error), 'error'
 * (the client threw an LlmError: timeout, HTTP error, no content). Never throws for model trouble.
 */
export async function callStructured<T>(
  client: LlmClient,
  request: LlmRequest,
  schema: z.ZodType<T>,
  purpose: ModelUsage['purpose'],
): Promise<StructuredResult<T>> {
  const system = request.messages.find((m) => m.role === 'system')?.content ?? '';
  const promptHash = promptHashOf(system, request.schema);
  let model = client.model;
  let promptTokens = 0;
  let completionTokens = 0;
  const usage = (outcome: ModelUsage['outcome']): ModelUsage => ({ purpose, model, promptHash, promptTokens, completionTokens, outcome });
  const failed = (err: unknown): StructuredResult<T> => ({
    value: null,
    usage: usage(err instanceof EngramError && err.code === LLM_ERROR_CODE ? 'error' : 'fallback'),
  });

  let content: string;
  try {
    const first = await client.complete(request);
    model = first.model || model;
    promptTokens += first.promptTokens;
    completionTokens += first.completionTokens;
    content = first.content;
  } catch (err) {
    return failed(err);
  }
  const checked = validateContent(content, schema);
  if (checked.ok) return { value: checked.value, usage: usage('ok') };

  let retry: string;
  try {
    const second = await client.complete({
      ...request,
      messages: [...request.messages, { role: 'assistant', content }, repairMessage(checked.errors)],
    });
    promptTokens += second.promptTokens;
    completionTokens += second.completionTokens;
    retry = second.content;
  } catch (err) {
    return failed(err);
  }
  const rechecked = validateContent(retry, schema);
  if (rechecked.ok) return { value: rechecked.value, usage: usage('repaired') };
  return { value: null, usage: usage('fallback') };
}
