/**
 * Configuration, validated once at start-up into a frozen object (DESIGN.md §4.11). Sources, later
 * wins: defaults, `ENGRAM_*` environment variables, command-line flags. Unknown `ENGRAM_*`
 * variables and malformed values are start-up errors.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';

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

const ConfigSchema = z
  .object({
    profile: z.enum(['embedded', 'cluster']),
    dataDir: z.string().min(1),
    partitions: z.coerce.number().int().min(1).max(256),
    batchSize: z.coerce.number().int().min(1).max(10_000),
    port: z.coerce.number().int().min(0).max(65_535),
    host: z.string().min(1),
    logLevel: z.enum(['silent', 'error', 'warn', 'info', 'debug']),
    cluster: ClusterSchema,
  })
  .strict();

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type ClusterConfig = Config['cluster'];

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

const DEFAULTS = {
  profile: 'embedded',
  dataDir: './.engram',
  partitions: 4,
  batchSize: 64,
  port: 8080,
  host: '127.0.0.1',
  logLevel: 'info',
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

/** Builds the frozen config from the environment and flags; throws ConfigError on anything wrong. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  flags: Partial<Record<Exclude<keyof Config, 'cluster'>, unknown>> = {},
): Config {
  const fromEnv: Record<string, unknown> = {};
  const clusterEnv: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('ENGRAM_') || value === undefined) continue;
    const key = ENV_KEYS[name];
    const clusterKey = CLUSTER_ENV_KEYS[name];
    if (key) fromEnv[key] = value;
    else if (clusterKey) clusterEnv[clusterKey] = value;
    else {
      throw new ConfigError(`unknown setting ${name}; known: ${[...Object.keys(ENV_KEYS), ...Object.keys(CLUSTER_ENV_KEYS)].join(', ')}`);
    }
  }
  const definedFlags = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const parsed = ConfigSchema.safeParse({ ...DEFAULTS, ...fromEnv, ...definedFlags, cluster: { ...CLUSTER_DEFAULTS, ...clusterEnv } });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const config = Object.freeze({ ...parsed.data, cluster: Object.freeze(parsed.data.cluster), dataDir: resolve(parsed.data.dataDir) });
  if (config.profile === 'cluster') requireCluster(config);
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
