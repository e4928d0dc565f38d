/**
 * A local fake of an OpenAI-compatible `/chat/completions` server (node:http on 127.0.0.1, port 0)
 * for the LLM tests. It answers in the mode the request asks for (json_schema content, or a forced
 * tool call) and can be scripted, reply by reply, to return valid JSON, malformed JSON, schema
 * violations, HTTP errors, an empty answer, or to hang until the client gives up.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer. */
export type FakeReply =
  /** This value, serialised, as the content (or tool-call arguments). */
  | { readonly kind: 'json'; readonly value: unknown }
  /** This raw text as the content (malformed JSON, prose…). */
  | { readonly kind: 'content'; readonly content: string }
  /** An HTTP error with an OpenAI-style error body. */
  | { readonly kind: 'status'; readonly status: number; readonly message?: string }
  /** A 200 whose message has no content. */
  | { readonly kind: 'empty' }
  /** Never answers (until the server closes). */
  | { readonly kind: 'hang' };

/** A request as the fake received it. */
export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary body fields
  readonly body: any;
  /** Schema name asked for (json_schema name or forced function name). */
  readonly schemaName: string | null;
  /** The last user message's content. */
  readonly userText: string;
}

export interface FakeLlmOptions {
  /** Model id the fake reports (default `fake-model-1`). */
  readonly model?: string;
  /** Token counts reported per answer; null omits `usage` (default 100 prompt, 20 completion). */
  readonly usage?: { readonly prompt: number; readonly completion: number } | null;
  /** Answers requests when the script is empty (default: 500 "unscripted"). */
  readonly respond?: (req: FakeRequest) => FakeReply;
}

export interface FakeLlm {
  /** Base URL to configure (`http://127.0.0.1:<port>/v1`). */
  readonly url: string;
  readonly model: string;
  /** Every request received, in order. */
  readonly requests: FakeRequest[];
  /** Queues replies, used before `respond`. */
  script(...replies: FakeReply[]): void;
  close(): Promise<void>;
}

function schemaNameOf(body: Record<string, unknown>): string | null {
  const rf = body.response_format as { json_schema?: { name?: unknown } } | undefined;
  if (typeof rf?.json_schema?.name === 'string') return rf.json_schema.name;
  const tools = body.tools as { function?: { name?: unknown } }[] | undefined;
  const name = tools?.[0]?.function?.name;
  return typeof name === 'string' ? name : null;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Starts the fake server. */
export async function startFakeLlm(opts: FakeLlmOptions = {}): Promise<FakeLlm> {
  const model = opts.model ?? 'fake-model-1';
  const usage = opts.usage === undefined ? { prompt: 100, completion: 20 } : opts.usage;
  const queue: FakeReply[] = [];
  const requests: FakeRequest[] = [];
  let calls = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        send(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error' } });
        return;
      }
      const messages = Array.isArray(body.messages) ? (body.messages as { role: string; content: string }[]) : [];
      const userText = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
      const request: FakeRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, schemaName: schemaNameOf(body), userText };
      requests.push(request);
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
        return;
      }
      const reply: FakeReply = queue.shift() ?? opts.respond?.(request) ?? { kind: 'status', status: 500, message: 'unscripted request' };
      if (reply.kind === 'hang') return; // the socket stays open until the client aborts or the server closes
      if (reply.kind === 'status') {
        send(res, reply.status, { error: { message: reply.message ?? `status ${reply.status}`, type: 'fake_error' } });
        return;
      }
      calls++;
      const content = reply.kind === 'json' ? JSON.stringify(reply.value) : reply.kind === 'content' ? reply.content : null;
      const tools = Array.isArray(body.tools);
      const message =
        tools && content !== null
          ? {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: `call_${calls}`, type: 'function', function: { name: request.schemaName, arguments: content } }],
            }
          : { role: 'assistant', content };
      send(res, 200, {
        id: `chatcmpl-${calls}`,
        object: 'chat.completion',
        created: 1_700_000_000,
        model,
        choices: [{ index: 0, message, finish_reason: tools ? 'tool_calls' : 'stop' }],
        ...(usage ? { usage: { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion } } : {}),
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    model,
    requests,
    script: (...replies) => {
      queue.push(...replies);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
