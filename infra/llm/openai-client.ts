/**
 * An OpenAI-compatible chat model over Node's global `fetch` (OpenAI, vLLM, llama.cpp server,
 * Ollama's `/v1`): POST `{baseUrl}/chat/completions` asking for structured output, either as
 * `response_format: json_schema` (strict) or as one forced function call whose parameters are the
 * schema (`tools` mode, for servers without json_schema support). The content comes back raw:
 * validating it is the caller's job (activities/llm/structured.ts).
 */
import type { LlmClient, LlmRequest, LlmResponse } from '../../core/ports.js';
import { llmSettings, type Config } from '../config.js';
import { LlmError } from './errors.js';

/** How the structured output is asked for. */
export type LlmOutputMode = 'json_schema' | 'tools';

export interface OpenAiClientOptions {
  /** API root, e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`. */
  readonly baseUrl: string;
  readonly model: string;
  /** Sent as `Authorization: Bearer <key>` when set. */
  readonly apiKey?: string;
  /** Whole-request timeout (connect, wait and read), ms. */
  readonly timeoutMs: number;
  readonly mode: LlmOutputMode;
  /** Sampling temperature (default 0: extraction should not be creative). */
  readonly temperature?: number;
  /** The fetch to use (default: the global one). */
  readonly fetch?: typeof fetch;
}

/** Longest part of an error body quoted in an error message. */
const MAX_QUOTED = 300;

/** The JSON body of a chat-completions request for structured output. */
export function chatRequestBody(
  model: string,
  request: LlmRequest,
  mode: LlmOutputMode,
  temperature = 0,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    temperature,
  };
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (mode === 'tools') {
    body.tools = [
      {
        type: 'function',
        function: {
          name: request.schemaName,
          description: `Return the ${request.schemaName} object.`,
          parameters: request.schema,
          strict: true,
        },
      },
    ];
    body.tool_choice = { type: 'function', function: { name: request.schemaName } };
  } else {
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: request.schemaName, schema: request.schema, strict: true },
    };
  }
  return body;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function tokenCount(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;
}

/**
 * The content and token counts of a chat-completions response. In `tools` mode the content is the
 * first tool call's arguments (or the message content when a server answers without a call).
 * Throws a non-retriable LlmError when there is no content to validate.
 */
export function parseChatResponse(json: unknown, mode: LlmOutputMode, fallbackModel: string): LlmResponse {
  if (!isRecord(json)) throw new LlmError('chat completion response is not a JSON object', { retriable: false });
  const usage = isRecord(json.usage) ? json.usage : {};
  const model = typeof json.model === 'string' && json.model.length > 0 ? json.model : fallbackModel;
  const choice = Array.isArray(json.choices) ? (json.choices[0] as unknown) : undefined;
  const message = isRecord(choice) && isRecord(choice.message) ? choice.message : null;
  let content: string | null = null;
  if (message) {
    if (mode === 'tools' && Array.isArray(message.tool_calls)) {
      const call = message.tool_calls[0] as unknown;
      const args = isRecord(call) && isRecord(call.function) ? call.function.arguments : undefined;
      if (typeof args === 'string') content = args;
      else if (isRecord(args)) content = JSON.stringify(args); // some servers send the object itself
    }
    if (content === null && typeof message.content === 'string') content = message.content;
  }
  if (content === null || content.trim().length === 0) {
    const refusal = message && typeof message.refusal === 'string' ? `: refused: ${message.refusal.slice(0, MAX_QUOTED)}` : '';
    const reason = isRecord(choice) && typeof choice.finish_reason === 'string' ? ` (finish_reason ${choice.finish_reason})` : '';
    throw new LlmError(`chat completion has no content${reason}${refusal}`, { retriable: false, details: { model } });
  }
  return {
    content,
    model,
    promptTokens: tokenCount(usage.prompt_tokens),
    completionTokens: tokenCount(usage.completion_tokens),
  };
}

/** The server's error message from an error body (`{ error: { message } }`), else the raw text. */
function errorMessageOf(text: string): string {
  try {
    const json = JSON.parse(text) as unknown;
    if (isRecord(json)) {
      if (isRecord(json.error) && typeof json.error.message === 'string') return json.error.message;
      if (typeof json.error === 'string') return json.error;
      if (typeof json.message === 'string') return json.message;
    }
  } catch {
    // not JSON: quote the text
  }
  return text.trim().slice(0, MAX_QUOTED);
}

/** True for a failure worth retrying: rate limits and server errors. */
export function retriableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** An OpenAI-compatible `/chat/completions` client with structured output. */
export class OpenAiCompatibleClient implements LlmClient {
  readonly model: string;
  private readonly url: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: OpenAiClientOptions) {
    this.model = opts.model;
    this.url = `${opts.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.fetchFn = opts.fetch ?? fetch;
  }

  /** Sends one request; throws LlmError (retriable per cause) when no usable content comes back. */
  async complete(request: LlmRequest): Promise<LlmResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.opts.apiKey !== undefined) headers.authorization = `Bearer ${this.opts.apiKey}`;
    const body = JSON.stringify(chatRequestBody(this.model, request, this.opts.mode, this.opts.temperature));
    const details = { url: this.url, model: this.model };
    // One signal for connect, response and body: a server that stalls mid-body also times out.
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    let status: number;
    let text: string;
    try {
      const res = await this.fetchFn(this.url, { method: 'POST', headers, body, signal });
      status = res.status;
      text = await res.text();
    } catch (cause) {
      if (signal.aborted || (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError'))) {
        throw new LlmError(`${this.model} did not answer within ${this.opts.timeoutMs} ms`, { retriable: true, details, cause });
      }
      const reason = cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause);
      throw new LlmError(`cannot reach the LLM at ${this.url}: ${reason}`, { retriable: true, details, cause });
    }
    if (status < 200 || status >= 300) {
      throw new LlmError(`LLM answered HTTP ${status}: ${errorMessageOf(text)}`, {
        retriable: retriableStatus(status),
        details: { ...details, status },
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new LlmError(`LLM answered with a body that is not JSON: ${text.slice(0, MAX_QUOTED)}`, { retriable: false, details, cause });
    }
    return parseChatResponse(json, this.opts.mode, this.model);
  }
}

/** The configured LLM client, or null when no model is configured (the offline path). */
export function createLlmClient(config: Config, opts: { fetch?: typeof fetch } = {}): LlmClient | null {
  const s = llmSettings(config);
  if (s === null) return null;
  return new OpenAiCompatibleClient({
    baseUrl: s.baseUrl,
    model: s.model,
    apiKey: s.apiKey,
    timeoutMs: s.timeoutMs,
    mode: s.mode,
    fetch: opts.fetch,
  });
}
