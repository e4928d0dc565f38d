/**
 * `engram mcp`: the MCP server over stdio on the embedded profile. It opens the engine over
 * --data-dir, runs the pipeline in the background after each added message, and lets reads wait
 * (bounded) for that run, so an agent's search sees what it has just added. Logs go to stderr:
 * stdout belongs to the protocol.
 */
import { describeError } from '../../core/errors.js';
import { assertScopeId } from '../../core/scope.js';
import { backgroundLoop } from '../background.js';
import { serveStdio } from '../mcp/stdio.js';
import { openEngine, type GlobalOptions } from './open.js';

/** How long a read waits for the background pipeline before answering from what is there. */
export const READ_SETTLE_MS = 15_000;

/** `engram mcp --tenant T [--user U]`: serves the MCP tools over stdio until the client disconnects. */
export async function mcpCommand(globals: GlobalOptions, opts: { tenant: string; user?: string }): Promise<void> {
  // Bad ids fail before a data directory is created.
  assertScopeId('tenant', opts.tenant);
  if (opts.user !== undefined) assertScopeId('user', opts.user);
  const engine = await openEngine(globals, true);
  const loop = backgroundLoop(
    () => engine.runUntilIdle(),
    (err) => process.stderr.write(`engram mcp: background processing failed: ${describeError(err)}\n`),
  );
  const server = await serveStdio(engine, {
    tenantId: opts.tenant,
    defaultUserId: opts.user,
    afterPublish: () => loop.kick(),
    beforeRead: async () => {
      await loop.settle(READ_SETTLE_MS);
    },
  }).catch(async (err: unknown) => {
    await engine.close();
    throw err;
  });
  // Events published by an earlier run (or another process) are processed too.
  loop.kick();
  const stop = (): void => void server.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await server.closed;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  await loop.stop();
  await engine.close();
}
