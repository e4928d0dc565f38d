/**
 * Configuration, validated once at start-up into a frozen object (DESIGN.md §4.11). Sources, later
 * wins: defaults, `ENGRAM_*` environment variables, command-line flags. Unknown `ENGRAM_*`
 * variables and malformed values are start-up errors.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { SCOPE_ID } from '../core/scope.js';

const url = z.string().url();

/** Addresses and names of the cluster profile's servers (compose.yaml sets them). */
const ClusterSchema = z
  .object({
    kafkaBrokers: z
      .string()
      .min(1)
      .transform((s) => s.split(',').map((b) => b.trim()).filter((b) => b.length > 0))
      .pipe(z.array(z.string().regex(/^[A-Za-z0-9._-]+:\d{1,5}$/, 'expected host:port')).min(1))
      .optional(),
    kafkaClientId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
    kafkaReplication: z.coerce.number().int().min(1).max(16),
    schemaRegistryUrl: url.optional(),
    temporalAddress: z.string().regex(/^[A-Za-z0-9._-]+:\d{1,5}$/, 'expected host:port').optional(),
    temporalNamespace: z.string().regex(/^[A-Za-z0-9._-]{1,255}$/),
    temporalTaskQueue: z.string().regex(/^[A-Za-z0-9._-]{1,255}$/),
    qdrantUrl: url.optional(),
    qdrantApiKey: z.string().min(1).optional(),
    neo4jUrl: z.string().regex(/^(neo4j|neo4j\+s|neo4j\+ssc|bolt|bolt\+s|bolt\+ssc):\/\/.+/, 'expected neo4j:// or bolt:// URL').optional(),
    neo4jUser: z.string().min(1),
    neo4jPassword: z.string().min(1).optional(),
    neo4jDatabase: z.string().regex(/^[A-Za-z0-9._-]{1,63}$/),
  })
  .strict();

/**
 * The optional language model (DESIGN.md §2 "Llm"): any OpenAI-compatible `/chat/completions`.
 * Configured when both the base URL and the model are set; without them the write path is offline.
 */
const LlmSchema = z
  .object({
    baseUrl: url.regex(/^https?:\/\//i, 'expected an http:// or https:// URL').optional(),
    model: z.string().min(1).optional(),
    apiKey: z.string().min(1).optional(),
    timeoutMs: z.coerce.number().int().min(1).max(600_000),
    mode: z.enum(['json_schema', 'tools']),
  })
  .strict();

const tenantSetting = z.string().regex(SCOPE_ID, "expected a tenant id: 1-64 characters from A-Z, a-z, 0-9, '_' and '-'");

/**
 * Chat-platform receivers under `/v1/hooks/*` (apps/publishers): each is on only when its secret is
 * set, and publishes for one tenant. The secrets are never logged (messages name the variable only).
 */
const PublishersSchema = z
  .object({
    slackSigningSecret: z.string().min(1).optional(),
    slackTenant: tenantSetting.optional(),
    discordPublicKey: z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected the 64 hex digits of an Ed25519 public key').optional(),
    /** HMAC secret of a relay forwarding Discord gateway messages (signed like the generic webhook). */
    discordRelaySecret: z.string().min(1).optional(),
    discordTenant: tenantSetting.optional(),
    webhookSecret: z.string().min(1).optional(),
    /** When set, the generic webhook refuses events of any other tenant. */
    webhookTenant: tenantSetting.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.slackSigningSecret !== undefined && p.slackTenant === undefined) {
      ctx.addIssue({ code: 'custom', path: ['slackTenant'], message: 'ENGRAM_SLACK_TENANT is required with ENGRAM_SLACK_SIGNING_SECRET' });
    }
    if ((p.discordPublicKey !== undefined || p.discordRelaySecret !== undefined) && p.discordTenant === undefined) {
      ctx.addIssue({ code: 'custom', path: ['discordTenant'], message: 'ENGRAM_DISCORD_TENANT is required with ENGRAM_DISCORD_PUBLIC_KEY or ENGRAM_DISCORD_RELAY_SECRET' });
    }
  });

const ConfigSchema = z
  .object({
    profile: z.enum(['embedded', 'cluster']),
    dataDir: z.string().min(1),
    partitions: z.coerce.number().int().min(1).max(256),
    batchSize: z.coerce.number().int().min(1).max(10_000),
    port: z.coerce.number().int().min(0).max(65_535),
    host: z.string().min(1),
    logLevel: z.enum(['silent', 'error', 'warn', 'info', 'debug']),
    /** Forgetting curve (MemoryBank): half-life in days at importance 0.5. */
    forgetHalfLifeDays: z.coerce.number().positive().max(36_500),
    /** Retention below which the forgetting pass archives a memory. */
    forgetFloor: z.coerce.number().min(0).max(1),
    /** Factor by which a retrieval or a reinforcement multiplies a memory's strength. */
    forgetReinforce: z.coerce.number().min(1).max(10),
    /** How often the forgetting pass runs in long-lived processes (0 = never on a timer). */
    forgetIntervalMs: z.coerce.number().int().min(0),
    /** Seal users' text in the logs with per-user keys, so erasure can destroy it (crypto-shredding). */
    sealRecords: z.enum(['true', 'false']).transform((v) => v === 'true'),
    /** A-MemGuard: write-time consensus and the read-time check ('off' only for benchmarks and diagnosis). */
    guard: z.enum(['on', 'off']),
    /** Guard score at or above which a candidate is quarantined. */
    guardThreshold: z.coerce.number().gt(0).max(1),
    /** OTLP/HTTP collector base URL (e.g. http://localhost:4318); tracing is off when unset. */
    otelEndpoint: url.regex(/^https?:\/\//i, 'expected an http:// or https:// URL').optional(),
    /** Port of a standalone `/metrics` listener for roles without an HTTP API (unset: none). */
    metricsPort: z.coerce.number().int().min(0).max(65_535).optional(),
    /** Browser origins the HTTP API allows (comma-separated); CORS is off when unset. */
    corsOrigins: z
      .string()
      .transform((s) => s.split(',').map((o) => o.trim()).filter((o) => o.length > 0))
      .pipe(z.array(z.string().regex(/^https?:\/\/[^\s/]+$/, 'expected origins like https://app.example.com')).min(1))
      .optional(),
    /** HTTP API requests per API key per minute (0 = no limit). */
    rateLimitPerMinute: z.coerce.number().int().min(0).max(1_000_000).default(600),
    /** Client side (`engram search --url`): a running server's base URL and an API key for it. */
    serverUrl: url.regex(/^https?:\/\//i, 'expected an http:// or https:// URL').optional(),
    apiKey: z.string().min(1).optional(),
    cluster: ClusterSchema,
    llm: LlmSchema,
    publishers: PublishersSchema,
  })
  .strict();

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type ClusterConfig = Config['cluster'];
export type LlmConfig = Config['llm'];
export type PublishersConfig = Config['publishers'];

/** Cluster settings every cluster role needs, with the variable that sets each. */
export type RequiredClusterSettings = {
  readonly kafkaBrokers: string[];
  readonly temporalAddress: string;
  readonly qdrantUrl: string;
  readonly neo4jUrl: string;
} & ClusterConfig;

const CLUSTER_DEFAULTS = {
  kafkaClientId: 'engram',
  kafkaReplication: 1,
  temporalNamespace: 'default',
  temporalTaskQueue: 'engram-memory',
  neo4jUser: 'neo4j',
  neo4jDatabase: 'neo4j',
};

const LLM_DEFAULTS = {
  timeoutMs: 20_000,
  mode: 'json_schema',
};

const DEFAULTS = {
  profile: 'embedded',
  dataDir: './.engram',
  partitions: 4,
  batchSize: 64,
  port: 8080,
  host: '127.0.0.1',
  logLevel: 'info',
  forgetHalfLifeDays: 30,
  forgetFloor: 0.05,
  forgetReinforce: 1.5,
  forgetIntervalMs: 6 * 60 * 60 * 1000,
  sealRecords: 'true',
  guard: 'on',
  guardThreshold: 0.5,
};

/** Environment variable → top-level config key. */
const ENV_KEYS: Readonly<Record<string, keyof Config>> = {
  ENGRAM_PROFILE: 'profile',
  ENGRAM_DATA_DIR: 'dataDir',
  ENGRAM_PARTITIONS: 'partitions',
  ENGRAM_BATCH_SIZE: 'batchSize',
  ENGRAM_PORT: 'port',
  ENGRAM_HOST: 'host',
  ENGRAM_LOG_LEVEL: 'logLevel',
  ENGRAM_FORGET_HALF_LIFE_DAYS: 'forgetHalfLifeDays',
  ENGRAM_FORGET_FLOOR: 'forgetFloor',
  ENGRAM_FORGET_REINFORCE: 'forgetReinforce',
  ENGRAM_FORGET_INTERVAL_MS: 'forgetIntervalMs',
  ENGRAM_SEAL_RECORDS: 'sealRecords',
  ENGRAM_GUARD: 'guard',
  ENGRAM_GUARD_THRESHOLD: 'guardThreshold',
  ENGRAM_OTEL_ENDPOINT: 'otelEndpoint',
  ENGRAM_METRICS_PORT: 'metricsPort',
  ENGRAM_CORS_ORIGINS: 'corsOrigins',
  ENGRAM_RATE_LIMIT_PER_MINUTE: 'rateLimitPerMinute',
  ENGRAM_URL: 'serverUrl',
  ENGRAM_API_KEY: 'apiKey',
};

/** Environment variable → cluster config key. */
export const CLUSTER_ENV_KEYS: Readonly<Record<string, keyof ClusterConfig>> = {
  ENGRAM_KAFKA_BROKERS: 'kafkaBrokers',
  ENGRAM_KAFKA_CLIENT_ID: 'kafkaClientId',
  ENGRAM_KAFKA_REPLICATION: 'kafkaReplication',
  ENGRAM_SCHEMA_REGISTRY_URL: 'schemaRegistryUrl',
  ENGRAM_TEMPORAL_ADDRESS: 'temporalAddress',
  ENGRAM_TEMPORAL_NAMESPACE: 'temporalNamespace',
  ENGRAM_TEMPORAL_TASK_QUEUE: 'temporalTaskQueue',
  ENGRAM_QDRANT_URL: 'qdrantUrl',
  ENGRAM_QDRANT_API_KEY: 'qdrantApiKey',
  ENGRAM_NEO4J_URL: 'neo4jUrl',
  ENGRAM_NEO4J_USER: 'neo4jUser',
  ENGRAM_NEO4J_PASSWORD: 'neo4jPassword',
  ENGRAM_NEO4J_DATABASE: 'neo4jDatabase',
};

/** Environment variable → LLM config key. */
export const LLM_ENV_KEYS: Readonly<Record<string, keyof LlmConfig>> = {
  ENGRAM_LLM_BASE_URL: 'baseUrl',
  ENGRAM_LLM_MODEL: 'model',
  ENGRAM_LLM_API_KEY: 'apiKey',
  ENGRAM_LLM_TIMEOUT_MS: 'timeoutMs',
  ENGRAM_LLM_MODE: 'mode',
};

/** Environment variable → publishers config key. */
export const PUBLISHER_ENV_KEYS: Readonly<Record<string, keyof PublishersConfig>> = {
  ENGRAM_SLACK_SIGNING_SECRET: 'slackSigningSecret',
  ENGRAM_SLACK_TENANT: 'slackTenant',
  ENGRAM_DISCORD_PUBLIC_KEY: 'discordPublicKey',
  ENGRAM_DISCORD_RELAY_SECRET: 'discordRelaySecret',
  ENGRAM_DISCORD_TENANT: 'discordTenant',
  ENGRAM_WEBHOOK_SECRET: 'webhookSecret',
  ENGRAM_WEBHOOK_TENANT: 'webhookTenant',
};

/** Builds the frozen config from the environment and flags; throws ConfigError on anything wrong. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  flags: Partial<Record<Exclude<keyof Config, 'cluster'>, unknown>> = {},
): Config {
  const fromEnv: Record<string, unknown> = {};
  const clusterEnv: Record<string, unknown> = {};
  const llmEnv: Record<string, unknown> = {};
  const publishersEnv: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('ENGRAM_') || value === undefined) continue;
    const key = ENV_KEYS[name];
    const clusterKey = CLUSTER_ENV_KEYS[name];
    const llmKey = LLM_ENV_KEYS[name];
    const publisherKey = PUBLISHER_ENV_KEYS[name];
    if (key) fromEnv[key] = value;
    else if (clusterKey) clusterEnv[clusterKey] = value;
    else if (llmKey) llmEnv[llmKey] = value;
    else if (publisherKey) publishersEnv[publisherKey] = value;
    else {
      const known = [...Object.keys(ENV_KEYS), ...Object.keys(CLUSTER_ENV_KEYS), ...Object.keys(LLM_ENV_KEYS), ...Object.keys(PUBLISHER_ENV_KEYS)];
      throw new ConfigError(`unknown setting ${name}; known: ${known.join(', ')}`);
    }
  }
  // The `llm` flag, when given, is an object of LLM settings laid over the environment's.
  const { llm: llmFlags, ...topFlags } = flags;
  if (llmFlags !== undefined && (typeof llmFlags !== 'object' || llmFlags === null)) {
    throw new ConfigError('invalid configuration: llm: expected an object of LLM settings');
  }
  const definedFlags = Object.fromEntries(Object.entries(topFlags).filter(([, v]) => v !== undefined));
  const definedLlmFlags = Object.fromEntries(Object.entries(llmFlags ?? {}).filter(([, v]) => v !== undefined));
  const parsed = ConfigSchema.safeParse({
    ...DEFAULTS,
    ...fromEnv,
    ...definedFlags,
    cluster: { ...CLUSTER_DEFAULTS, ...clusterEnv },
    llm: { ...LLM_DEFAULTS, ...llmEnv, ...definedLlmFlags },
    publishers: publishersEnv,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const config = Object.freeze({
    ...parsed.data,
    cluster: Object.freeze(parsed.data.cluster),
    llm: Object.freeze(parsed.data.llm),
    publishers: Object.freeze(parsed.data.publishers),
    dataDir: resolve(parsed.data.dataDir),
  });
  if (config.profile === 'cluster') requireCluster(config);
  llmSettings(config);
  return config;
}

/** The cluster settings, or a ConfigError naming every missing address. */
export function requireCluster(config: Config): RequiredClusterSettings {
  const c = config.cluster;
  const missing = Object.entries({
    ENGRAM_KAFKA_BROKERS: c.kafkaBrokers,
    ENGRAM_TEMPORAL_ADDRESS: c.temporalAddress,
    ENGRAM_QDRANT_URL: c.qdrantUrl,
    ENGRAM_NEO4J_URL: c.neo4jUrl,
  })
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (missing.length > 0) {
    throw new ConfigError(`the cluster profile needs ${missing.join(', ')} (see compose.yaml and docs/operations.md)`);
  }
  return c as RequiredClusterSettings;
}

/** The LLM settings when a model is configured (base URL and model both set), else null. */
export function llmSettings(config: Config): (LlmConfig & { readonly baseUrl: string; readonly model: string }) | null {
  const { baseUrl, model } = config.llm;
  if (baseUrl === undefined && model === undefined) return null;
  if (baseUrl === undefined) throw new ConfigError('ENGRAM_LLM_MODEL is set but ENGRAM_LLM_BASE_URL is missing (see docs/llm.md)');
  if (model === undefined) throw new ConfigError('ENGRAM_LLM_BASE_URL is set but ENGRAM_LLM_MODEL is missing (see docs/llm.md)');
  return { ...config.llm, baseUrl, model };
}
