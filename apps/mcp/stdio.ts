/**
 * The Engram MCP server over stdio (for desktop MCP clients that spawn `engram mcp`): JSON-RPC on
 * stdin/stdout, so nothing else may write to stdout while it runs.
 */
import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { MemoryService } from '../service.js';
import { createMcpServer, type McpToolOptions } from './tools.js';

export interface StdioMcpServer {
  /** Resolves when the client disconnects (stdin ends) or `close()` is called. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/** Serves the Engram tools over stdio (the process's, or the given streams). */
export async function serveStdio(
  service: MemoryService,
  opts: McpToolOptions,
  streams: { stdin?: Readable; stdout?: Writable } = {},
): Promise<StdioMcpServer> {
  const stdin = streams.stdin ?? process.stdin;
  const server = createMcpServer(service, opts);
  const transport = new StdioServerTransport(stdin, streams.stdout ?? process.stdout);
  let done: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    done = resolve;
  });
  transport.onclose = () => done();
  // The SDK transport does not notice the end of stdin by itself: a client that exits ends us.
  const onEnd = (): void => void server.close();
  stdin.once('end', onEnd);
  stdin.once('close', onEnd);
  await server.connect(transport);
  return {
    closed,
    async close() {
      stdin.off('end', onEnd);
      stdin.off('close', onEnd);
      await server.close();
      done();
    },
  };
}
