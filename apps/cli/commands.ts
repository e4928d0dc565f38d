import { readFileSync } from 'node:fs';
import { ValidationError } from '../../core/errors.js';
import type { ConversationEvent, MemoryKind } from '../../core/model.js';
import { scopeOf } from '../../core/scope.js';
import { parseConversationEvent } from '../../schemas/conversation-input.js';
import { formatHit, formatMemory, validity, isoOrOpen } from './format.js';
import { withEngine, type GlobalOptions } from './open.js';
import { progressBar } from './progress.js';
import { Engine, type RunStats } from '../engine.js';
import { loadConfig } from '../../infra/config.js';
import { configuredOptions, startServer } from '../server/http.js';
import { servePlugins } from '../server/surfaces.js';
import { startObservability } from '../../infra/observability/setup.js';
import { registerEngineMetrics } from '../../infra/observability/instrument-streams.js';
import { EngramError } from '../../core/errors.js';
import { SqliteApiKeys } from '../../infra/embedded/api-keys.js';
import { createEngramClient, EngramApiError, type SearchHit as ApiSearchHit } from '../../clients/typescript/client.js';

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** Parses a time given as ISO-8601 or epoch milliseconds. */
export function parseTime(value: string, flag: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw new ValidationError(`${flag}: "${value}" is not an ISO-8601 time or epoch milliseconds`);
  return n;
}

/** Reads JSON Lines into events; each bad line is reported with its number and skipped. */
export function parseJsonl(text: string, source: string): { events: ConversationEvent[]; errors: string[] } {
  const events: ConversationEvent[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      events.push(parseConversationEvent(JSON.parse(line)));
    } catch (err) {
      errors.push(`${source}:${i + 1}: ${(err as Error).message}`);
    }
  });
  return { events, errors };
}

/** Runs the pipeline with a progress bar and returns its statistics. */
export async function processWithProgress(engine: Engine, title = 'processing'): Promise<RunStats> {
  const bar = progressBar(title);
  try {
    return await engine.runUntilIdle((p) => bar.update(p.processed + p.deadLettered, p.published, 'events'));
  } finally {
    bar.stop();
  }
}

export async function publishCommand(globals: GlobalOptions, file: string, opts: { process: boolean }): Promise<void> {
  const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  const { events, errors } = parseJsonl(text, file);
  for (const e of errors) process.stderr.write(`engram: skipped invalid event: ${e}\n`);
  await withEngine(globals, true, async (engine) => {
    const positions = await engine.publish(events);
    print(`published ${positions.length} events${errors.length ? `, skipped ${errors.length} invalid lines` : ''}`);
    if (opts.process) {
      const started = performance.now();
      const stats = await processWithProgress(engine);
      const seconds = (performance.now() - started) / 1000;
      print(
        `processed ${stats.processed}/${stats.published} events in ${seconds.toFixed(1)} s: ${stats.memoryEvents} memory events, ${stats.deadLettered} dead-lettered`,
      );
    }
  });
  if (errors.length > 0) process.exitCode = 2;
}

export async function processCommand(globals: GlobalOptions): Promise<void> {
  await withEngine(globals, false, async (engine) => {
    const stats = await processWithProgress(engine);
    print(`processed ${stats.processed}/${stats.published} events: ${stats.memoryEvents} memory events, ${stats.deadLettered} dead-lettered`);
  });
}

interface ScopeFlags {
  readonly tenant: string;
  readonly user: string;
  readonly json?: boolean;
}

type SearchFlags = Omit<ScopeFlags, 'tenant'> & {
  tenant?: string;
  url?: string;
  key?: string;
  k: number;
  asOf?: string;
  includeInvalid?: boolean;
  all?: boolean;
  kind?: MemoryKind[];
};

/** `engram search --url`: the same search through a running server's API (the TypeScript client). */
async function remoteSearch(url: string, key: string | undefined, query: string, opts: SearchFlags): Promise<ApiSearchHit[]> {
  if (key === undefined) throw new ValidationError('--key (or ENGRAM_API_KEY) is required with --url');
  if (opts.asOf !== undefined) parseTime(opts.asOf, '--as-of');
  const client = createEngramClient({ baseUrl: url, apiKey: key });
  try {
    const answer = await client.search({
      user: opts.user,
      q: query,
      k: opts.k,
      asOf: opts.asOf,
      includeInvalid: opts.includeInvalid || opts.all,
      includeArchived: opts.all,
      kinds: opts.kind,
    });
    return answer.results;
  } catch (err) {
    // API errors keep their code (`unauthorized: …`); only bugs print a stack.
    if (err instanceof EngramApiError) throw new EngramError(`${url}: ${err.message.replace(/^[a-z_]+: /, '')}`, { code: err.code, retriable: err.status === 0 || err.status === 429 || err.status >= 500 });
    throw err;
  }
}

export async function searchCommand(globals: GlobalOptions, query: string, opts: SearchFlags): Promise<void> {
  const config = loadConfig(process.env, { dataDir: globals.dataDir });
  const url = opts.url ?? config.serverUrl;
  if (url !== undefined) {
    const hits = await remoteSearch(url, opts.key ?? config.apiKey, query, opts);
    if (opts.json) return print(JSON.stringify(hits, null, 2));
    if (hits.length === 0) return print('no memories found');
    return hits.forEach((h, i) => print(formatHit(h, i + 1)));
  }
  if (opts.tenant === undefined) throw new ValidationError('--tenant is required (unless --url queries a server)');
  const scope = scopeOf(opts.tenant, opts.user);
  const asOf = opts.asOf === undefined ? undefined : parseTime(opts.asOf, '--as-of');
  await withEngine(globals, false, async (engine) => {
    const hits = await engine.search(scope, query, {
      k: opts.k,
      asOf,
      includeInvalid: opts.includeInvalid || opts.all,
      includeArchived: opts.all,
      kinds: opts.kind,
    });
    if (opts.json) return print(JSON.stringify(hits, null, 2));
    if (hits.length === 0) return print('no memories found');
    hits.forEach((h, i) => print(formatHit(h, i + 1)));
  });
}

export async function memoriesCommand(globals: GlobalOptions, opts: ScopeFlags & { all?: boolean }): Promise<void> {
  const scope = scopeOf(opts.tenant, opts.user);
  await withEngine(globals, false, async (engine) => {
    const states = await engine.memories(scope, opts.all ?? false);
    if (opts.json) return print(JSON.stringify(states.map((s) => ({ ...s, memory: { ...s.memory, embedding: undefined } })), null, 2));
    if (states.length === 0) return print('no memories');
    for (const s of states) print(formatMemory(s));
  });
}

export async function memoryCommand(globals: GlobalOptions, id: string, opts: ScopeFlags): Promise<void> {
  const scope = scopeOf(opts.tenant, opts.user);
  await withEngine(globals, false, async (engine) => {
    const detail = await engine.memory(scope, id);
    if (opts.json) {
      return print(JSON.stringify({ ...detail, state: { ...detail.state, memory: { ...detail.state.memory, embedding: undefined } } }, null, 2));
    }
    const { state, history } = detail;
    print(formatMemory(state));
    print(`  valid ${validity(state.memory.validFrom, state.memory.validTo)} · recorded ${isoOrOpen(state.memory.recordedAt)}`);
    if (state.quarantineReasons.length > 0) print(`  quarantined: ${state.quarantineReasons.join('; ')}`);
    print('  sources:');
    for (const s of state.memory.sources) print(`    ${s.messageId} (event ${s.eventId}, ${s.topic}/${s.partition}/${s.offset})`);
    print('  history:');
    for (const h of history) print(`    v${h.version} ${h.type} [${h.status}] ${h.reason}`);
  });
}

export async function graphCommand(globals: GlobalOptions, entity: string, opts: ScopeFlags & { depth: number }): Promise<void> {
  const scope = scopeOf(opts.tenant, opts.user);
  await withEngine(globals, false, async (engine) => {
    const n = await engine.neighbourhood(scope, entity, opts.depth);
    if (opts.json) return print(JSON.stringify(n, null, 2));
    if (n.nodes.length === 0) return print(`no entity "${entity}" in the graph`);
    const names = new Map(n.nodes.map((node) => [node.id, node.name]));
    for (const e of n.edges) {
      const label = e.type === 'RELATES' ? e.predicate ?? 'RELATES' : e.type;
      print(`${names.get(e.from) ?? e.from} -[${label}]-> ${names.get(e.to) ?? e.to}`);
    }
  });
}

export async function replayCommand(globals: GlobalOptions): Promise<void> {
  await withEngine(globals, false, async (engine) => {
    const bar = progressBar('replaying');
    const started = performance.now();
    const result = await engine.replay((done, total) => bar.update(done, total, 'records'));
    bar.stop();
    const seconds = (performance.now() - started) / 1000;
    print(`rebuilt every projection from ${result.events} memory events in ${seconds.toFixed(2)} s; model calls: ${result.modelCalls}`);
  });
}

/** `engram forget-pass`: archives every user's memories whose retention fell below the floor. */
export async function forgetPassCommand(globals: GlobalOptions, opts: { at?: string }): Promise<void> {
  await withEngine(globals, false, async (engine) => {
    const at = opts.at === undefined ? undefined : parseTime(opts.at, '--at');
    const { users, archived } = await engine.forgettingPass(at);
    const c = engine.config;
    print(
      `forgetting pass over ${users} users: ${archived} memories archived ` +
        `(half-life ${c.forgetHalfLifeDays} days, floor ${c.forgetFloor}, x${c.forgetReinforce} per recall); ` +
        'archived memories stay in the log and show with --all',
    );
  });
}

/** `engram usage`: language-model tokens metered for a tenant. */
export async function usageCommand(globals: GlobalOptions, opts: { tenant: string; json?: boolean }): Promise<void> {
  await withEngine(globals, false, async (engine) => {
    const rows = await engine.modelUsage(opts.tenant);
    if (opts.json) return print(JSON.stringify(rows, null, 2));
    if (rows.length === 0) return print(`no language-model calls recorded for tenant ${opts.tenant}`);
    for (const r of rows) print(`${r.model} · ${r.purpose}: ${r.calls} calls, ${r.promptTokens} prompt + ${r.completionTokens} completion tokens`);
  });
}

export async function dlqCommand(globals: GlobalOptions, opts: { json?: boolean }): Promise<void> {
  await withEngine(globals, false, async (engine) => {
    const records = await engine.deadLetters();
    const rows = records.map((r) => ({ source: r.headers['dlq-source'], code: r.headers['dlq-code'], reason: r.headers['dlq-reason'], key: r.key }));
    if (opts.json) return print(JSON.stringify(rows, null, 2));
    if (rows.length === 0) return print('the dead-letter topic is empty');
    for (const r of rows) print(`${r.source} [${r.code}] ${r.reason}`);
  });
}

export async function serveCommand(globals: GlobalOptions, opts: { port?: number; host?: string }): Promise<void> {
  const config = loadConfig(process.env, { dataDir: globals.dataDir, port: opts.port, host: opts.host });
  const keys = SqliteApiKeys.inDataDir(config.dataDir);
  if (config.profile === 'cluster') {
    const { serveClusterRole } = await import('./roles.js');
    const listen = { port: config.port, host: config.host, keys, ...configuredOptions(config) };
    try {
      return await serveClusterRole(config, listen);
    } finally {
      keys.close();
    }
  }
  if (keys.list().filter((k) => k.revokedAt === null).length === 0) {
    process.stderr.write('engram: no API keys yet: every /v1 request will be refused until you run `engram keys create --tenant <id>`\n');
  }
  const engine = await Engine.open(config, { create: true });
  // The background loop also runs the forgetting pass every ENGRAM_FORGET_INTERVAL_MS.
  let lastPass = engine.ports.clock.now();
  const background = async (): Promise<void> => {
    await engine.runUntilIdle();
    const now = engine.ports.clock.now();
    if (config.forgetIntervalMs > 0 && now - lastPass >= config.forgetIntervalMs) {
      lastPass = now;
      await engine.forgettingPass(now);
    }
  };
  const obs = await startObservability(config, 'serve', { metricsServer: false });
  const unregister = registerEngineMetrics(engine);
  // Messages from MCP and the platform hooks are processed like those from POST /v1/events.
  const afterPublish = (): void => {
    void background().catch((err: unknown) => obs.logger.error({ err }, 'background processing failed'));
  };
  const server = await startServer(engine, {
    port: config.port,
    host: config.host,
    background,
    keys,
    plugins: servePlugins(engine, config, afterPublish),
    ...configuredOptions(config),
  });
  obs.logger.info(
    { url: server.url },
    `engram API listening on ${server.url} (OpenAPI: ${server.url}/openapi.json, docs: ${server.url}/docs, explorer: ${server.url}/ui, MCP: ${server.url}/mcp, metrics: ${server.url}/metrics)`,
  );
  const stop = async (): Promise<void> => {
    await server.close();
    unregister();
    await engine.close();
    keys.close();
    await obs.close();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

/** Opens the API key store of the data directory, runs `fn`, closes it. */
function withApiKeys<T>(globals: GlobalOptions, create: boolean, fn: (keys: SqliteApiKeys) => T): T {
  const config = loadConfig(process.env, { dataDir: globals.dataDir });
  const keys = SqliteApiKeys.inDataDir(config.dataDir, { create });
  try {
    return fn(keys);
  } finally {
    keys.close();
  }
}

/** `engram keys create`: the key alone on standard output (for scripts), the rest on standard error. */
export async function keysCreateCommand(globals: GlobalOptions, opts: { tenant: string; admin?: boolean; name?: string; json?: boolean }): Promise<void> {
  withApiKeys(globals, true, (keys) => {
    const k = keys.create({ tenantId: opts.tenant, name: opts.name, admin: opts.admin });
    if (opts.json) return print(JSON.stringify(k, null, 2));
    print(k.key);
    process.stderr.write(`created ${k.admin ? 'admin ' : ''}key ${k.id} for tenant ${k.tenantId}: store it now, it is not shown again\n`);
  });
}

/** `engram keys list`: ids, tenants, scopes and state; never secrets. */
export async function keysListCommand(globals: GlobalOptions, opts: { tenant?: string; json?: boolean }): Promise<void> {
  withApiKeys(globals, false, (keys) => {
    const rows = keys.list(opts.tenant);
    if (opts.json) return print(JSON.stringify(rows, null, 2));
    if (rows.length === 0) return print('no API keys');
    for (const k of rows) {
      const state = k.revokedAt === null ? 'active' : `revoked ${new Date(k.revokedAt).toISOString()}`;
      print(`${k.id}  tenant ${k.tenantId}${k.admin ? '  admin' : ''}  ${state}  created ${new Date(k.createdAt).toISOString()}${k.name ? `  "${k.name}"` : ''}`);
    }
  });
}

/** `engram keys revoke <id>`. */
export async function keysRevokeCommand(globals: GlobalOptions, id: string): Promise<void> {
  withApiKeys(globals, false, (keys) => {
    const k = keys.revoke(id);
    print(`revoked ${k.id} (tenant ${k.tenantId})`);
  });
}
