import test from 'ava';
import { ConfigError } from '../../core/errors.js';
import { loadConfig, requireCluster } from '../../infra/config.js';

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
