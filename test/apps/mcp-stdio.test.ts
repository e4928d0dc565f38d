import test from 'ava';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { TOOL_NAMES } from '../../apps/mcp/tools.js';
import { removeDir, tempDir } from '../helpers/engine.js';

const BIN = join(fileURLToPath(new URL('../../bin/engram.js', import.meta.url)));

interface ToolResult {
  readonly isError?: boolean;
  readonly content: readonly { type: string; text?: string }[];
  readonly structuredContent?: Record<string, unknown>;
}

test('`engram mcp` serves the tools over stdio and processes added messages in the background', async (t) => {
  const dir = tempDir();
  const stderr = new PassThrough();
  let errors = '';
  stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString('utf8');
  });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', '--tenant', 'acme', '--user', 'dana', '--data-dir', dir],
    // Only the default variables: the command must not need anything else from the environment.
    env: getDefaultEnvironment(),
    stderr: 'pipe',
  });
  transport.stderr?.pipe(stderr);
  const client = new Client({ name: 'engram-stdio-test', version: '0.0.0' });
  try {
    await client.connect(transport);
    const { tools } = await client.listTools();
    t.deepEqual(tools.map((x) => x.name).sort(), [...TOOL_NAMES].sort());

    const added = (await client.callTool({
      name: 'add_message',
      arguments: { text: 'I live in Lisbon and I work at Mozilla.', speaker: 'Dana', occurredAt: '2024-05-01T10:00:00Z' },
    })) as ToolResult;
    t.falsy(added.isError, JSON.stringify(added.content));
    t.is(added.structuredContent?.userId, 'dana');

    // No explicit processing: the command's background loop runs the pipeline and the read waits for it.
    const found = (await client.callTool({ name: 'search_memories', arguments: { query: 'where does Dana live', k: 5 } })) as ToolResult;
    t.falsy(found.isError, JSON.stringify(found.content));
    t.true(((found.structuredContent?.results ?? []) as { text: string }[]).some((r) => /Lisbon/.test(r.text)));
  } finally {
    await client.close();
    removeDir(dir);
  }
  // Everything went through the protocol: nothing was reported on stderr.
  t.is(errors, '');
});
