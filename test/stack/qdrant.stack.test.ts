/**
 * The Qdrant adapters against a real server (`QDRANT_URL`, e.g. http://localhost:6333 from
 * compose.yaml): the VectorIndex contract, collection set-up races, checkpoints and the vector
 * projection's reset. Each run uses its own model id and checkpoint collection, dropped at the end.
 * Skips cleanly without QDRANT_URL; every request times out after a few seconds.
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import type { Scope } from '../../core/scope.js';
import { QdrantCheckpointStore } from '../../infra/cluster/qdrant-checkpoints.js';
import { QdrantVectorIndex, collectionNameOf } from '../../infra/cluster/qdrant-vector-index.js';
import { VectorProjection } from '../../streams/projectors/vector-projection.js';
import { vectorIndexContract } from '../contracts/vector-index.contract.js';

const url = process.env.QDRANT_URL;
const stackTest = url ? test.serial : test.serial.skip;
const RUN = randomUUID().slice(0, 8);
const MODEL = `stack-test-${RUN}`;
const DIMS = 8;
const TIMEOUT_MS = 5000;
const opened = new Set<QdrantVectorIndex>();

async function openIndex(modelId = MODEL): Promise<QdrantVectorIndex> {
  const index = await QdrantVectorIndex.open({ url: url ?? '', modelId, dimensions: DIMS, timeoutMs: TIMEOUT_MS });
  opened.add(index);
  return index;
}

async function openCheckpoints(): Promise<QdrantCheckpointStore> {
  return QdrantCheckpointStore.open({ url: url ?? '', collection: `engram_checkpoints_test_${RUN}`, timeoutMs: TIMEOUT_MS });
}

test.after.always(async () => {
  if (!url) return;
  // Drop every collection this run made (one per distinct name).
  const byName = new Map([...opened].map((i) => [i.collection, i]));
  for (const index of byName.values()) await index.drop().catch(() => undefined);
  await openCheckpoints()
    .then((cp) => cp.drop())
    .catch(() => undefined);
});

vectorIndexContract(
  test,
  'qdrant',
  async () => ({ index: await openIndex(), dims: DIMS, close: async () => undefined }),
  { skip: !url },
);

stackTest('qdrant: concurrent opens of a new collection all succeed', async (t) => {
  const model = `${MODEL}-race`;
  const indexes = await Promise.all([openIndex(model), openIndex(model), openIndex(model)]);
  t.true(indexes.every((i) => i.collection === collectionNameOf(model, DIMS)));
  t.true(indexes.filter((i) => i.created).length <= 1);
  t.false((await openIndex(model)).created);
  const S: Scope = { tenantId: 'race', userId: 'u1' };
  const e0 = [1, 0, 0, 0, 0, 0, 0, 0];
  await indexes[0]!.upsert(S, [
    {
      id: 'm',
      text: 'race winner',
      embedding: e0,
      kind: 'fact',
      granularity: 'fact',
      status: 'active',
      validFrom: 0,
      validTo: null,
      recordedAt: 0,
      supersededAt: null,
    },
  ]);
  t.deepEqual((await indexes[2]!.searchText(S, 'winner', 5)).map((h) => h.id), ['m']);
  t.is(await indexes[1]!.count(S), 1);
});

stackTest('qdrant: checkpoints start at 0, only move forward, reset per projector, persist', async (t) => {
  const cp = await openCheckpoints();
  t.is(await cp.checkpoint('p1', 'memory-events', 0), 0);
  await cp.saveCheckpoint('p1', 'memory-events', 0, 10);
  await cp.saveCheckpoint('p1', 'memory-events', 1, 3);
  await cp.saveCheckpoint('p2', 'memory-events', 0, 5);
  await cp.saveCheckpoint('p1', 'memory-events', 0, 7);
  t.is(await cp.checkpoint('p1', 'memory-events', 0), 10);
  t.is(await cp.checkpoint('p1', 'memory-events', 1), 3);
  t.is(await cp.checkpoint('p1', 'other-topic', 0), 0);
  const again = await openCheckpoints();
  t.is(await again.checkpoint('p2', 'memory-events', 0), 5);
  await again.reset('p1');
  t.is(await cp.checkpoint('p1', 'memory-events', 0), 0);
  t.is(await cp.checkpoint('p1', 'memory-events', 1), 0);
  t.is(await cp.checkpoint('p2', 'memory-events', 0), 5);
});

stackTest('qdrant: the vector projection resets both the index and its checkpoints', async (t) => {
  const index = await openIndex();
  const cp = await openCheckpoints();
  const S: Scope = { tenantId: 'proj', userId: 'u1' };
  await index.upsert(S, [
    {
      id: 'm',
      text: 'projected memory',
      embedding: [0, 1, 0, 0, 0, 0, 0, 0],
      kind: 'fact',
      granularity: 'fact',
      status: 'active',
      validFrom: 0,
      validTo: null,
      recordedAt: 0,
      supersededAt: null,
    },
  ]);
  const projection = new VectorProjection(index, cp);
  await cp.saveCheckpoint(projection.name, 'memory-events', 0, 42);
  await projection.reset();
  t.is(await index.count(S), 0);
  t.is(await cp.checkpoint(projection.name, 'memory-events', 0), 0);
});
