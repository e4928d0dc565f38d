/**
 * The HTTP API: a Fastify app over a `MemoryService`. Versioned routes under `/v1` need an API key
 * whose tenant scopes the request; `/healthz`, `/readyz`, `/openapi.json` and `/docs` do not.
 * Errors are JSON `{ error: { code, message } }`; bodies are limited in size and requests are
 * rate-limited per key. Other parts of Engram add routes through `plugins` (MCP, chat-platform
 * hooks, metrics, the explorer UI).
 */
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyPluginCallback, type FastifyServerOptions } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock, type Clock } from '../../core/random.js';
import type { Config } from '../../infra/config.js';
import type { MemoryService } from '../service.js';
import { installAuth, rateLimitBucket, type KeyVerifier } from './auth.js';
import { backgroundLoop } from '../background.js';
import { handleError, handleNotFound, RateLimitedError } from './errors.js';
import { registerOpenApi } from './openapi.js';
import type { RouteContext } from './routes/context.js';
import { eventRoutes } from './routes/events.js';
import { forgetRoutes } from './routes/forget.js';
import { operationRoutes } from './routes/operations.js';
import { quarantineRoutes } from './routes/quarantine.js';
import { searchRoutes } from './routes/search.js';
import { userRoutes } from './routes/users.js';

export type { KeyVerifier, Principal } from './auth.js';

/**
 * A part of the server added by another module (MCP, publishers, metrics, UI): a function of the
 * app, or a Fastify callback plugin `(app, opts, done)`.
 */
export type ServerPlugin = ((app: FastifyInstance) => Promise<void> | void) | FastifyPluginCallback;

/** fastify-plugin's mark: a plugin that shares its parent's context instead of getting its own. */
const SKIP_OVERRIDE = Symbol.for('skip-override');

/** Requests per key per window, unless configured. */
export const DEFAULT_RATE_LIMIT = { max: 600, timeWindowMs: 60_000 } as const;
/** Largest request body, in bytes. */
export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;

export interface ServerOptions {
  /** Verifies API keys (the embedded `SqliteApiKeys`). */
  readonly keys: KeyVerifier;
  /**
   * Work to run after each publish until it reports idle (the embedded profile processes in the
   * API's process; on the cluster profile other roles do, and this is absent).
   */
  readonly background?: () => Promise<unknown>;
  /**
   * Registered after the core routes with `app.register`: encapsulated as Fastify plugins are (a
   * plugin's own content-type parsers, error handler and hooks stay with its routes), unless the
   * plugin carries fastify-plugin's `skip-override` mark: then its hooks see every route (metrics).
   * Plugin routes are not behind API keys unless they call `principalOf`.
   */
  readonly plugins?: readonly ServerPlugin[];
  /** Requests per key (or per address without a valid key) per window; `false` turns limiting off. */
  readonly rateLimit?: { readonly max: number; readonly timeWindowMs: number } | false;
  /** Origins allowed by CORS; CORS is off when absent or empty. */
  readonly corsOrigins?: readonly string[];
  readonly bodyLimit?: number;
  readonly clock?: Clock;
  readonly logger?: FastifyServerOptions['logger'];
  /** Partition count of `conversation-events` (read-your-writes); asked from the service's watermarks when absent. */
  readonly partitions?: number;
  /** Answer 500 when a response does not match its documented schema (for tests). */
  readonly strictResponses?: boolean;
}

/** A built (not yet listening) server. */
export interface BuiltServer {
  readonly app: FastifyInstance;
  /** Resolves when the background pipeline has nothing left to do. */
  idle(): Promise<void>;
  /** Stops the background loop (the app is closed by its owner). */
  stop(): Promise<void>;
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly url: string;
  /** Resolves when the background pipeline has nothing left to do. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** The server options that come from the configuration (rate limit, CORS). */
export function configuredOptions(config: Pick<Config, 'rateLimitPerMinute' | 'corsOrigins'>): Pick<ServerOptions, 'rateLimit' | 'corsOrigins'> {
  return {
    rateLimit: config.rateLimitPerMinute === 0 ? false : { max: config.rateLimitPerMinute, timeWindowMs: 60_000 },
    corsOrigins: config.corsOrigins ?? [],
  };
}

/** Builds the Fastify app over a memory service (use `app.inject` in tests, or `startServer`). */
export function buildServer(service: MemoryService, opts: ServerOptions): BuiltServer {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT });
  const loop = backgroundLoop(opts.background ?? (() => Promise.resolve()), (err) => app.log.error({ err }, 'background processing failed'));
  let partitions: Promise<number> | null = opts.partitions === undefined ? null : Promise.resolve(opts.partitions);
  const ctx: RouteContext = {
    service,
    // Without background work (other processes do it on that profile) a kick does nothing.
    kick: opts.background ? loop.kick : () => undefined,
    clock: opts.clock ?? systemClock,
    sleep: (ms) => sleep(ms),
    partitions: () => {
      // Asked once: a topic's partition count is fixed while keys map to partitions.
      partitions ??= service.watermarks().then((w) => w.conversationEnd.length);
      return partitions;
    },
    strictResponses: opts.strictResponses,
  };

  installAuth(app, opts.keys);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);

  // Order matters: the document and the rate limiter see routes registered after them.
  registerOpenApi(app);
  if (opts.rateLimit !== false) {
    const { max, timeWindowMs } = opts.rateLimit ?? DEFAULT_RATE_LIMIT;
    app.register(rateLimit, {
      global: true,
      max,
      timeWindow: timeWindowMs,
      keyGenerator: rateLimitBucket,
      errorResponseBuilder: (_req, c) => new RateLimitedError(`more than ${c.max} requests in the window: retry in ${c.after}`),
    });
  }
  if (opts.corsOrigins && opts.corsOrigins.length > 0) {
    app.register(cors, { origin: [...opts.corsOrigins], methods: ['GET', 'POST'], allowedHeaders: ['Authorization', 'Content-Type', 'X-API-Key'] });
  }
  app.register(async (core) => {
    operationRoutes(core, ctx);
    eventRoutes(core, ctx);
    searchRoutes(core, ctx);
    userRoutes(core, ctx);
    quarantineRoutes(core, ctx);
    forgetRoutes(core, ctx);
  });
  for (const plugin of opts.plugins ?? []) {
    if (plugin.length >= 3) {
      // A Fastify callback plugin: it calls `done` itself.
      app.register(plugin as FastifyPluginCallback);
      continue;
    }
    // Async for avvio (a plain function would have to call `done`); the fastify-plugin mark is kept.
    const wrapped = async (instance: FastifyInstance): Promise<void> => (plugin as (app: FastifyInstance) => Promise<void> | void)(instance);
    if ((plugin as unknown as Record<symbol, unknown>)[SKIP_OVERRIDE] === true) Object.assign(wrapped, { [SKIP_OVERRIDE]: true });
    app.register(wrapped);
  }

  return { app, idle: loop.idle, stop: loop.stop };
}

/** Starts listening; `close` stops the loop and the server (not the service). */
export async function startServer(service: MemoryService, opts: { port: number; host: string } & ServerOptions): Promise<RunningServer> {
  const { app, idle, stop } = buildServer(service, opts);
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
