/**
 * The HTTP API (first version): publish events, search, read a memory, health. Input is validated
 * at the edge; errors are JSON `{ error: { code, message } }`. Published events are processed by a
 * single background loop, so requests never wait for the pipeline.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { EngramError, ValidationError } from '../../core/errors.js';
import { MEMORY_KINDS } from '../../core/model.js';
import { scopeOf } from '../../core/scope.js';
import { parseConversationEvent } from '../../schemas/conversation-input.js';
import { MAX_K } from '../../readmodels/search.js';
import type { MemoryService } from '../service.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly url: string;
  /** Resolves when the background pipeline has nothing left to do. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const HTTP_STATUS: Readonly<Record<string, number>> = { invalid_input: 400, not_found: 404, undecodable: 400 };
const MAX_BATCH = 1000;

const SearchQuery = z
  .object({
    tenant: z.string(),
    user: z.string(),
    q: z.string().min(1, 'q is required').max(4096),
    k: z.coerce.number().int().min(1).max(MAX_K).default(10),
    asOf: z.string().optional(),
    includeInvalid: z.enum(['true', 'false']).optional(),
    includeArchived: z.enum(['true', 'false']).optional(),
    kind: z.union([z.enum(MEMORY_KINDS), z.array(z.enum(MEMORY_KINDS))]).optional(),
  })
  .strict();

const ScopeQuery = z.object({ tenant: z.string(), user: z.string() }).strict();

function parseQuery<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationError(r.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '));
  return r.data;
}

export interface ServerOptions {
  /**
   * Work to run after each publish until it reports idle (the embedded profile processes in the
   * API's process; on the cluster profile other roles do, and this is absent).
   */
  readonly background?: () => Promise<unknown>;
}

/** Builds the Fastify app over a memory service, with an optional background processing loop. */
export function buildServer(engine: MemoryService, opts: ServerOptions = {}): { app: FastifyInstance; idle(): Promise<void>; stop(): Promise<void> } {
  const background = opts.background;
  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const kick = (): void => {
    if (stopped || !background) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await background();
        } catch (err) {
          app.log.error(err);
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
  };

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof EngramError) {
      return reply.status(HTTP_STATUS[err.code] ?? (err.retriable ? 503 : 500)).send({ error: { code: err.code, message: err.message } });
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    return reply.status(status).send({ error: { code: status < 500 ? 'bad_request' : 'internal', message: (err as Error).message } });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  // Ready when every backing store answers; 503 with the failing checks otherwise.
  app.get('/readyz', async (_req, reply) => {
    const report = await engine.ready();
    return reply.status(report.ok ? 200 : 503).send({ status: report.ok ? 'ready' : 'not_ready', checks: report.checks });
  });

  app.post('/v1/events', async (req, reply) => {
    const body = req.body as unknown;
    const items = Array.isArray(body) ? body : body && typeof body === 'object' && 'events' in body ? (body as { events: unknown }).events : [body];
    if (!Array.isArray(items) || items.length === 0 || items.length > MAX_BATCH) {
      throw new ValidationError(`send one event, an array, or {"events": [...]} of 1 to ${MAX_BATCH} events`);
    }
    const errors: { index: number; message: string }[] = [];
    const events = items.flatMap((item, index) => {
      try {
        return [parseConversationEvent(item)];
      } catch (err) {
        errors.push({ index, message: (err as Error).message });
        return [];
      }
    });
    // All or nothing: a client fixes the bad events and resends the batch (ids make it idempotent).
    if (errors.length > 0) return reply.status(400).send({ error: { code: 'invalid_input', message: `${errors.length} invalid event(s)`, events: errors } });
    const positions = await engine.publish(events);
    kick();
    return reply.status(202).send({ accepted: positions.length, positions });
  });

  app.get('/v1/search', async (req) => {
    const q = parseQuery(SearchQuery, req.query);
    const scope = scopeOf(q.tenant, q.user);
    const asOf = q.asOf === undefined ? undefined : /^\d+$/.test(q.asOf) ? Number(q.asOf) : Date.parse(q.asOf);
    if (asOf !== undefined && !Number.isFinite(asOf)) throw new ValidationError('asOf: not an ISO-8601 time or epoch ms');
    const kinds = q.kind === undefined ? undefined : Array.isArray(q.kind) ? q.kind : [q.kind];
    const hits = await engine.search(scope, q.q, { k: q.k, asOf, includeInvalid: q.includeInvalid === 'true', includeArchived: q.includeArchived === 'true', kinds });
    return { results: hits };
  });

  app.get('/v1/memories/:id', async (req) => {
    const { tenant, user } = parseQuery(ScopeQuery, req.query);
    const scope = scopeOf(tenant, user);
    const { id } = req.params as { id: string };
    const detail = await engine.memory(scope, id);
    return { memory: { ...detail.state.memory, embedding: undefined }, status: detail.state.status, version: detail.state.version, history: detail.history };
  });

  return {
    app,
    async idle() {
      while (running) await running;
    },
    async stop() {
      stopped = true;
      while (running) await running;
    },
  };
}

/** Starts listening; `close` stops the loop and the server (not the service). */
export async function startServer(engine: MemoryService, opts: { port: number; host: string } & ServerOptions): Promise<RunningServer> {
  const { app, idle, stop } = buildServer(engine, opts);
  const url = await app.listen({ port: opts.port, host: opts.host });
  return {
    app,
    url,
    idle,
    async close() {
      await stop();
      await app.close();
    },
  };
}
