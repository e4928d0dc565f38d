import test from 'ava';
import { ConfigError } from '../../core/errors.js';
import { llmSettings, loadConfig, requireCluster } from '../../infra/config.js';

const CLUSTER = {
  ENGRAM_PROFILE: 'cluster',
  ENGRAM_KAFKA_BROKERS: 'kafka:29092, kafka-2:29092',
  ENGRAM_TEMPORAL_ADDRESS: 'temporal:7233',
  ENGRAM_QDRANT_URL: 'http://qdrant:6333',
  ENGRAM_NEO4J_URL: 'bolt://neo4j:7687',
};

test('the embedded profile needs no cluster settings and gets defaults', (t) => {
  const config = loadConfig({});
  t.is(config.profile, 'embedded');
  t.is(config.cluster.temporalTaskQueue, 'engram-memory');
  t.is(config.cluster.kafkaBrokers, undefined);
  t.true(Object.isFrozen(config) && Object.isFrozen(config.cluster));
});

test('the cluster profile parses every address', (t) => {
  const config = loadConfig({ ...CLUSTER, ENGRAM_TEMPORAL_NAMESPACE: 'memory', ENGRAM_KAFKA_REPLICATION: '3' });
  const c = requireCluster(config);
  t.deepEqual(c.kafkaBrokers, ['kafka:29092', 'kafka-2:29092']);
  t.is(c.temporalNamespace, 'memory');
  t.is(c.kafkaReplication, 3);
  t.is(c.neo4jUser, 'neo4j');
});

test('the cluster profile names every missing address at start-up', (t) => {
  const err = t.throws(() => loadConfig({ ENGRAM_PROFILE: 'cluster', ENGRAM_QDRANT_URL: 'http://q:6333' }), { instanceOf: ConfigError });
  for (const name of ['ENGRAM_KAFKA_BROKERS', 'ENGRAM_TEMPORAL_ADDRESS', 'ENGRAM_NEO4J_URL']) t.true(err?.message.includes(name), name);
  t.false(err?.message.includes('ENGRAM_QDRANT_URL'));
});

test('malformed cluster settings are start-up errors', (t) => {
  t.throws(() => loadConfig({ ...CLUSTER, ENGRAM_KAFKA_BROKERS: 'no-port' }), { instanceOf: ConfigError, message: /kafkaBrokers/ });
  t.throws(() => loadConfig({ ...CLUSTER, ENGRAM_NEO4J_URL: 'http://neo4j:7474' }), { instanceOf: ConfigError, message: /neo4jUrl/ });
  t.throws(() => loadConfig({ ...CLUSTER, ENGRAM_QDRANT_URL: 'not a url' }), { instanceOf: ConfigError, message: /qdrantUrl/ });
  t.throws(() => loadConfig({ ...CLUSTER, ENGRAM_KAFKA_REPLICATION: '0' }), { instanceOf: ConfigError });
  t.throws(() => loadConfig({ ENGRAM_KAFKA_BROKER: 'x:1' }), { instanceOf: ConfigError, message: /unknown setting ENGRAM_KAFKA_BROKER/ });
});

test('no LLM is configured by default; base URL and model configure one with defaults', (t) => {
  const offline = loadConfig({});
  t.is(llmSettings(offline), null);
  t.is(offline.llm.timeoutMs, 20_000);
  t.is(offline.llm.mode, 'json_schema');
  t.true(Object.isFrozen(offline.llm));

  const config = loadConfig({
    ENGRAM_LLM_BASE_URL: 'http://localhost:11434/v1',
    ENGRAM_LLM_MODEL: 'qwen2.5:7b-instruct',
    ENGRAM_LLM_API_KEY: 'sk-local',
    ENGRAM_LLM_TIMEOUT_MS: '45000',
    ENGRAM_LLM_MODE: 'tools',
  });
  t.deepEqual(llmSettings(config), {
    baseUrl: 'http://localhost:11434/v1',
    model: 'qwen2.5:7b-instruct',
    apiKey: 'sk-local',
    timeoutMs: 45_000,
    mode: 'tools',
  });
});

test('LLM settings can come from flags, laid over the environment', (t) => {
  const config = loadConfig({ ENGRAM_LLM_MODEL: 'from-env' }, { llm: { baseUrl: 'http://127.0.0.1:9/v1', timeoutMs: 500 } });
  t.is(llmSettings(config)?.model, 'from-env');
  t.is(config.llm.timeoutMs, 500);
  t.throws(() => loadConfig({}, { llm: 'http://x' }), { instanceOf: ConfigError, message: /llm/ });
});

test('one of base URL and model without the other names the missing one', (t) => {
  const noModel = t.throws(() => loadConfig({ ENGRAM_LLM_BASE_URL: 'http://localhost:8000/v1' }), { instanceOf: ConfigError });
  t.regex(noModel?.message ?? '', /ENGRAM_LLM_MODEL is missing/);
  const noUrl = t.throws(() => loadConfig({ ENGRAM_LLM_MODEL: 'gpt-4o-mini' }), { instanceOf: ConfigError });
  t.regex(noUrl?.message ?? '', /ENGRAM_LLM_BASE_URL is missing/);
});

test('malformed LLM settings are start-up errors', (t) => {
  const llm = { ENGRAM_LLM_BASE_URL: 'http://localhost:8000/v1', ENGRAM_LLM_MODEL: 'm' };
  t.throws(() => loadConfig({ ...llm, ENGRAM_LLM_BASE_URL: 'localhost:8000' }), { instanceOf: ConfigError, message: /llm\.baseUrl/ });
  t.throws(() => loadConfig({ ...llm, ENGRAM_LLM_MODE: 'grammar' }), { instanceOf: ConfigError, message: /llm\.mode/ });
  t.throws(() => loadConfig({ ...llm, ENGRAM_LLM_TIMEOUT_MS: '0' }), { instanceOf: ConfigError, message: /llm\.timeoutMs/ });
  t.throws(() => loadConfig({ ...llm, ENGRAM_LLM_KEY: 'x' }), { instanceOf: ConfigError, message: /unknown setting ENGRAM_LLM_KEY.*ENGRAM_LLM_API_KEY/ });
});
