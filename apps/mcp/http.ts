/**
 * The Engram MCP server over streamable HTTP, as a Fastify plugin mounted at `/mcp`. Stateless:
 * every POST is authenticated with the API key (`principalOf`), gets a fresh MCP server whose
 * tools are bound to the key's tenant, and is answered with JSON. A key of one tenant can never
 * name another tenant: the tenant is not a tool argument.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ValidationError } from '../../core/errors.js';
import { SCOPE_ID } from '../../core/scope.js';
import { principalOf, type Principal } from '../server/auth.js';
import { errorResponse } from '../server/errors.js';
import type { MemoryService } from '../service.js';
import { createMcpServer, type McpToolOptions } from './tools.js';

export interface McpHttpOptions extends Omit<McpToolOptions, 'tenantId' | 'defaultUserId'> {
  /** Where to mount the endpoint (default `/mcp`). */
  readonly path?: string;
  /** Who is calling (default: the API key, through `principalOf`); throws when unauthenticated. */
  readonly principal?: (req: FastifyRequest) => Principal | Promise<Principal>;
}

/** The endpoint in the OpenAPI document (the body is MCP's JSON-RPC, described by the MCP specification). */
const POST_DOC = {
  summary: 'MCP over streamable HTTP',
  description:
    "The Model Context Protocol endpoint (stateless streamable HTTP, JSON responses): JSON-RPC 2.0 requests for the tools add_message, " +
    "search_memories, get_memory, list_lessons and forget, acting within the API key's tenant. `?user=<id>` sets the tools' default user. " +
    'Send `Accept: application/json, text/event-stream`. See docs/mcp.md.',
  tags: ['mcp'],
  security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
} as const;

/** The stateless transport has no server-initiated stream and no session to delete. */
function notAllowed(_req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply
    .status(405)
    .header('allow', 'POST')
    .send({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP endpoint is stateless; POST JSON-RPC to it.' }, id: null });
}

/**
 * A Fastify plugin serving the Engram MCP tools over streamable HTTP at `/mcp` (`?user=<id>` sets
 * the default user of the tools for that request).
 */
export function mcpPlugin(service: MemoryService, opts: McpHttpOptions = {}): (app: FastifyInstance) => Promise<void> {
  const path = opts.path ?? '/mcp';
  const principal = opts.principal ?? principalOf;
  return async (app) => {
    app.post(path, { schema: POST_DOC }, async (req, reply) => {
      let tenantId: string;
      let defaultUserId: string | undefined;
      try {
        tenantId = (await principal(req)).tenantId;
        const user = (req.query as Record<string, unknown> | undefined)?.user;
        if (user !== undefined && (typeof user !== 'string' || !SCOPE_ID.test(user))) {
          throw new ValidationError("user: must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-'");
        }
        defaultUserId = user;
      } catch (err) {
        const { status, body } = errorResponse(err);
        return reply.status(status).send(body);
      }
      const server = createMcpServer(service, { ...opts, tenantId, defaultUserId });
      // Stateless (no session id): each request stands alone, so any API replica can answer it.
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      reply.raw.on('close', () => {
        void transport.close();
        void server.close();
      });
      // The transport writes the response itself.
      reply.hijack();
      try {
        await server.connect(transport);
        await transport.handleRequest(req.raw, reply.raw, req.body);
      } catch (err) {
        req.log.error(err);
        if (!reply.raw.headersSent) {
          reply.raw.writeHead(500, { 'content-type': 'application/json' });
          reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null }));
        }
      }
    });
    app.get(path, { schema: { hide: true } }, notAllowed);
    app.delete(path, { schema: { hide: true } }, notAllowed);
  };
}
