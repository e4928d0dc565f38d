/**
 * Configuration, validated once at start-up into a frozen object (DESIGN.md §4.11). Sources, later
 * wins: defaults, `ENGRAM_*` environment variables, command-line flags. Unknown `ENGRAM_*`
 * variables and malformed values are start-up errors.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';

const ConfigSchema = z
  .object({
    profile: z.enum(['embedded', 'cluster']),
    dataDir: z.string().min(1),
    partitions: z.coerce.number().int().min(1).max(256),
    batchSize: z.coerce.number().int().min(1).max(10_000),
    port: z.coerce.number().int().min(0).max(65_535),
    host: z.string().min(1),
    logLevel: z.enum(['silent', 'error', 'warn', 'info', 'debug']),
  })
  .strict();

export type Config = Readonly<z.infer<typeof ConfigSchema>>;

const DEFAULTS: z.input<typeof ConfigSchema> = {
  profile: 'embedded',
  dataDir: './.engram',
  partitions: 4,
  batchSize: 64,
  port: 8080,
  host: '127.0.0.1',
  logLevel: 'info',
};

/** Environment variable → config key. */
const ENV_KEYS: Readonly<Record<string, keyof Config>> = {
  ENGRAM_PROFILE: 'profile',
  ENGRAM_DATA_DIR: 'dataDir',
  ENGRAM_PARTITIONS: 'partitions',
  ENGRAM_BATCH_SIZE: 'batchSize',
  ENGRAM_PORT: 'port',
  ENGRAM_HOST: 'host',
  ENGRAM_LOG_LEVEL: 'logLevel',
};

/** Cluster-profile addresses, read by the cluster adapters (compose.yaml sets them). */
const CLUSTER_ENV = new Set(['ENGRAM_KAFKA_BROKERS', 'ENGRAM_TEMPORAL_ADDRESS', 'ENGRAM_QDRANT_URL', 'ENGRAM_NEO4J_URL']);

/** Builds the frozen config from the environment and flags; throws ConfigError on anything wrong. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  flags: Partial<Record<keyof Config, unknown>> = {},
): Config {
  const fromEnv: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('ENGRAM_') || value === undefined) continue;
    const key = ENV_KEYS[name];
    if (key) fromEnv[key] = value;
    else if (!CLUSTER_ENV.has(name)) {
      throw new ConfigError(`unknown setting ${name}; known: ${[...Object.keys(ENV_KEYS), ...CLUSTER_ENV].join(', ')}`);
    }
  }
  const definedFlags = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const parsed = ConfigSchema.safeParse({ ...DEFAULTS, ...fromEnv, ...definedFlags });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  if (parsed.data.profile === 'cluster') {
    throw new ConfigError('the cluster profile is not available in this build yet; use ENGRAM_PROFILE=embedded');
  }
  return Object.freeze({ ...parsed.data, dataDir: resolve(parsed.data.dataDir) });
}
