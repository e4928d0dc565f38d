import test from 'ava';
import type { ExecutionContext } from 'ava';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Engine } from '../../apps/engine.js';
import { mcpPlugin } from '../../apps/mcp/http.js';
import { TOOL_NAMES } from '../../apps/mcp/tools.js';
import { buildServer, type BuiltServer } from '../../apps/server/http.js';
import { SqliteApiKeys } from '../../infra/embedded/api-keys.js';
import { openTestEngine, removeDir, tempDir } from '../helpers/engine.js';

interface ToolResult {
  readonly isError?: boolean;
  readonly content: readonly { type: string; text?: string }[];
  readonly structuredContent?: Record<string, unknown>;
}

let dir: string;
let engine: Engine;
let keys: SqliteApiKeys;
let server: BuiltServer;
let base: string;
let acmeKey: string;
let globexKey: string;

test.before(async () => {
  dir = tempDir();
  engine = await openTestEngine(dir);
  keys = SqliteApiKeys.inDataDir(dir);
  acmeKey = keys.create({ tenantId: 'acme', name: 'mcp test' }).key;
  globexKey = keys.create({ tenantId: 'globex', name: 'mcp test' }).key;
  const service = engine;
  server = buildServer(service, { keys, rateLimit: false, plugins: [mcpPlugin(service)] });
  base = await server.app.listen({ port: 0, host: '127.0.0.1' });
});

test.after.always(async () => {
  await server.stop();
  await server.app.close();
  keys.close();
  await engine.close();
  removeDir(dir);
});

/** An MCP client over streamable HTTP with an API key. */
async function connect(key: string, query = ''): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp${query}`), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  const client = new Client({ name: 'engram-http-test', version: '0.0.0' });
  await client.connect(transport);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

function succeeded(t: ExecutionContext, r: ToolResult): Record<string, unknown> {
  t.falsy(r.isError, r.content.map((c) => c.text ?? '').join('\n'));
  return r.structuredContent ?? {};
}

test.serial('without a valid API key the endpoint answers 401 in the API error format', async (t) => {
  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
  const headers = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
  const none = await server.app.inject({ method: 'POST', url: '/mcp', headers, payload: initialize });
  t.is(none.statusCode, 401);
  t.is(none.json<{ error: { code: string } }>().error.code, 'unauthorized');
  const wrong = await server.app.inject({ method: 'POST', url: '/mcp', headers: { ...headers, authorization: 'Bearer egk_not-a-key' }, payload: initialize });
  t.is(wrong.statusCode, 401);
  // Stateless: no server-initiated stream, no session to delete.
  t.is((await server.app.inject({ method: 'GET', url: '/mcp' })).statusCode, 405);
  t.is((await server.app.inject({ method: 'DELETE', url: '/mcp' })).statusCode, 405);
});

test.serial('a key works the tools of its tenant over streamable HTTP, and reaches nothing of another tenant', async (t) => {
  const acme = await connect(acmeKey);
  const globex = await connect(globexKey);
  try {
    const { tools } = await acme.listTools();
    t.deepEqual(tools.map((x) => x.name).sort(), [...TOOL_NAMES].sort());

    const added = succeeded(
      t,
      await call(acme, 'add_message', { user: 'dana', text: 'I live in Lisbon and I work at Mozilla.', speaker: 'Dana', occurredAt: '2024-05-01T10:00:00Z' }),
    );
    t.is((added.position as { topic: string }).topic, 'conversation-events');
    await engine.runUntilIdle();

    const found = succeeded(t, await call(acme, 'search_memories', { user: 'dana', query: 'where does Dana live', k: 5 }));
    const hit = (found.results as { id: string; text: string }[]).find((r) => /Lisbon/.test(r.text));
    t.truthy(hit);
    const id = hit?.id ?? '';
    const detail = succeeded(t, await call(acme, 'get_memory', { user: 'dana', id }));
    t.true((detail.sources as { text: string | null }[]).some((s) => s.text === 'I live in Lisbon and I work at Mozilla.'));

    // The other tenant's key: the same user id and memory id lead nowhere.
    const missing = await call(globex, 'get_memory', { user: 'dana', id });
    t.true(missing.isError);
    t.is((missing.structuredContent?.error as { code: string }).code, 'not_found');
    const none = succeeded(t, await call(globex, 'search_memories', { user: 'dana', query: 'Lisbon' }));
    t.deepEqual(none.results, []);
    t.deepEqual(succeeded(t, await call(globex, 'list_lessons', { user: 'dana' })).lessons, []);
    // Forgetting "dana" through globex's key erases globex's dana only.
    succeeded(t, await call(globex, 'forget', { user: 'dana', scope: 'user' }));
    await engine.runUntilIdle();
    const still = succeeded(t, await call(acme, 'search_memories', { user: 'dana', query: 'where does Dana live', k: 5 }));
    t.true((still.results as { text: string }[]).some((r) => /Lisbon/.test(r.text)));

    // `?user=` sets the default user of the tools.
    const dana = await connect(acmeKey, '?user=dana');
    try {
      const viaDefault = succeeded(t, await call(dana, 'search_memories', { query: 'where does Dana live' }));
      t.true((viaDefault.results as { text: string }[]).some((r) => /Lisbon/.test(r.text)));
    } finally {
      await dana.close();
    }
  } finally {
    await acme.close();
    await globex.close();
  }
});
