/**
 * End to end on the compose stack (`docker compose -p engram up -d --build`, then
 * `npm run test:stack`): publish a conversation event to Kafka, wait for the memory to appear in
 * Qdrant and in Neo4j, see the user's workflow in Temporal, and find the memory through the API.
 * Needs KAFKA_BROKERS, TEMPORAL_ADDRESS, QDRANT_URL and NEO4J_URL (and the API at ENGRAM_API_URL,
 * default http://localhost:8080); skips when any address is missing.
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { Client, Connection } from '@temporalio/client';
import type { ConversationEvent } from '../../core/model.js';
import { TOPICS } from '../../core/model.js';
import { scopeOf, workflowIdOf } from '../../core/scope.js';
import { KafkaEventLog } from '../../infra/cluster/kafka-event-log.js';
import { Neo4jMemoryGraph } from '../../infra/cluster/neo4j-memory-graph.js';
import { QdrantVectorIndex } from '../../infra/cluster/qdrant-vector-index.js';
import { UseLiteEmbedder } from '../../infra/embedder/use-lite.js';
import { RecordSealer } from '../../streams/record-sealer.js';

const env = process.env;
const ready = Boolean(env.KAFKA_BROKERS && env.TEMPORAL_ADDRESS && env.QDRANT_URL && env.NEO4J_URL);
const stackTest = ready ? test.serial : test.skip;
const apiUrl = env.ENGRAM_API_URL ?? 'http://localhost:8080';
const WAIT_MS = 120_000;

/** Polls `probe` until it returns a value, or fails after WAIT_MS with what was awaited. */
async function eventually<T>(what: string, probe: () => Promise<T | null | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== null && value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

stackTest('a published message becomes a memory in Qdrant, Neo4j and the API', async (t) => {
  const tenantId = `e2e-${randomUUID().slice(0, 8)}`;
  const scope = scopeOf(tenantId, 'alice');
  const event: ConversationEvent = {
    eventId: `${tenantId}-e1`,
    tenantId,
    userId: 'alice',
    conversationId: 'c1',
    sessionId: 's1',
    occurredAt: Date.parse('2024-03-04T09:00:00Z'),
    payload: { type: 'MessagePosted', messageId: 'm1', role: 'user', speaker: 'Alice', text: 'I live in Lisbon and I work at Airbus.', attachmentCaptions: [] },
  };

  const log = await KafkaEventLog.open({ brokers: (env.KAFKA_BROKERS ?? '').split(','), clientId: 'engram-e2e', replicationFactor: 1 });
  const model = new UseLiteEmbedder();
  const vectors = await QdrantVectorIndex.open({ url: env.QDRANT_URL ?? '', modelId: model.modelId, dimensions: model.dimensions });
  const graph = await Neo4jMemoryGraph.open({
    url: env.NEO4J_URL ?? '',
    user: env.NEO4J_USER ?? 'neo4j',
    password: env.NEO4J_PASSWORD ?? 'engram-dev-password',
    database: env.NEO4J_DATABASE ?? 'neo4j',
  });
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS ?? '', connectTimeout: 5_000 });
  try {
    const [position] = await log.append(TOPICS.conversation, await new RecordSealer(null).conversationRecords([event]));
    t.is(position?.topic, TOPICS.conversation);

    const inQdrant = await eventually('the memory in Qdrant', async () => {
      const hits = await vectors.searchText(scope, 'Lisbon', 5);
      return hits.length > 0 ? hits : null;
    });
    t.true(inQdrant.length > 0);

    const entities = await eventually('the entities in Neo4j', async () => {
      const found = await graph.entities(scope, 20);
      return found.some((e) => /lisbon/i.test(e.name)) ? found : null;
    });
    t.true(entities.some((e) => /lisbon/i.test(e.name)));

    const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE ?? 'default' });
    const progress = await client.workflow.getHandle(workflowIdOf(event)).query<{ eventsProcessed: number }>('progress');
    t.true(progress.eventsProcessed >= 1);

    const results = await eventually('the memory through the API', async () => {
      const res = await fetch(`${apiUrl}/v1/search?tenant=${tenantId}&user=alice&q=${encodeURIComponent('where does alice live')}`);
      if (!res.ok) return null;
      const body = (await res.json()) as { results: { text: string; sources: { messageId: string }[] }[] };
      return body.results.some((r) => /Lisbon/.test(r.text)) ? body.results : null;
    });
    t.true(results.some((r) => r.sources.some((s) => s.messageId === 'm1')));

    // Another tenant sees none of it, through any store.
    const other = scopeOf(`${tenantId}x`, 'alice');
    t.deepEqual(await vectors.searchText(other, 'Lisbon', 5), []);
    t.deepEqual(await graph.entities(other, 20), []);
  } finally {
    await connection.close();
    await graph.close();
    await log.close();
  }
});
