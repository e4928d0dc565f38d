/**
 * The MemoryGraph contract on a real Neo4j (compose.yaml's `neo4j` service), plus what only a server
 * can show: constraints and indexes, stored property types, and credential/database errors.
 *
 * Env: NEO4J_URL (skip when unset), NEO4J_USER / NEO4J_PASSWORD (default neo4j / engram-dev-password, as in the compose
 * stack), NEO4J_DATABASE (default neo4j).
 *
 * The database may be shared (Community edition has one user database), so every case writes under
 * its own namespace (a per-run random prefix on tenant ids, memory ids and projector names) and its
 * close() deletes exactly that namespace. `clear()` empties the whole database, so the contract's
 * clear case runs only with NEO4J_ALLOW_CLEAR=1, on a database whose contents may be lost.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import neo4j from 'neo4j-driver';
import { ConfigError } from '../../core/errors.js';
import type { Scope } from '../../core/scope.js';
import { Neo4jMemoryGraph, neo4jSchema } from '../../infra/cluster/neo4j-memory-graph.js';
import { fromDriverValue } from '../../infra/cluster/neo4j-values.js';
import type { GraphCounts } from '../contracts/memory-graph.contract.js';
import { graphCountsOf, memoryGraphContract } from '../contracts/memory-graph.contract.js';

const url = process.env.NEO4J_URL ?? '';
const user = process.env.NEO4J_USER ?? 'neo4j';
const password = process.env.NEO4J_PASSWORD ?? 'engram-dev-password';
const database = process.env.NEO4J_DATABASE ?? 'neo4j';
const stackTest = url ? test.serial : test.skip;

/** Unique per run, so that runs (and cases) sharing a database never meet. */
const RUN = randomBytes(4).toString('hex');
let cases = 0;

const options = { url, user, password, database, connectionTimeoutMs: 5_000, maxTransactionRetryTimeMs: 5_000 };

/** A second driver for what the ports do not offer: counting and cleaning up a namespace. */
function adminDriver(): ReturnType<typeof neo4j.driver> {
  return neo4j.driver(url, neo4j.auth.basic(user, password), { connectionTimeout: 5_000, maxTransactionRetryTime: 5_000 });
}

async function query(
  driver: ReturnType<typeof neo4j.driver>,
  statement: string,
  params: Record<string, unknown> = {},
): Promise<Record<string, unknown>[]> {
  const result = await driver.executeQuery(statement, params, { database });
  return result.records.map((r) => r.toObject());
}

async function countsIn(driver: ReturnType<typeof neo4j.driver>, ns: string): Promise<GraphCounts> {
  const n = async (statement: string): Promise<number> => {
    const [row] = await query(driver, statement, { ns });
    return Number(fromDriverValue(row?.['c']));
  };
  // Labels and types are constants of the graph model, never data.
  const node = (label: string): Promise<number> => n(`MATCH (x:${label}) WHERE x.tenant STARTS WITH $ns RETURN count(x) AS c`);
  const rel = (type: string): Promise<number> =>
    n(`MATCH (a)-[r:${type}]->() WHERE a.tenant STARTS WITH $ns RETURN count(r) AS c`);
  return graphCountsOf(node, rel);
}

async function deleteNamespace(driver: ReturnType<typeof neo4j.driver>, ns: string): Promise<void> {
  await query(driver, 'MATCH (n) WHERE (n:Memory OR n:Entity OR n:Message) AND n.tenant STARTS WITH $ns DETACH DELETE n', { ns });
  await query(driver, 'MATCH (c:Checkpoint) WHERE c.projector STARTS WITH $ns DELETE c', { ns });
}

memoryGraphContract(
  stackTest,
  'neo4j',
  async () => {
    const namespace = `n4j${RUN}c${++cases}-`;
    const admin = adminDriver();
    let graph: Neo4jMemoryGraph;
    try {
      graph = await Neo4jMemoryGraph.open(options);
    } catch (err) {
      await admin.close();
      throw err;
    }
    return {
      graph,
      namespace,
      counts: () => countsIn(admin, namespace),
      close: async () => {
        try {
          await deleteNamespace(admin, namespace);
        } finally {
          await graph.close();
          await admin.close();
        }
      },
    };
  },
  { clear: process.env.NEO4J_ALLOW_CLEAR === '1' },
);

stackTest('neo4j: open() creates every constraint and index of neo4jSchema(), idempotently', async (t) => {
  const first = await Neo4jMemoryGraph.open(options);
  await first.close();
  const again = await Neo4jMemoryGraph.open(options); // IF NOT EXISTS: a second set-up is a no-op
  t.teardown(() => again.close());
  const admin = adminDriver();
  t.teardown(() => admin.close());
  const constraints = (await query(admin, 'SHOW CONSTRAINTS YIELD name RETURN name')).map((r) => r['name']);
  const indexes = (await query(admin, 'SHOW INDEXES YIELD name RETURN name')).map((r) => r['name']);
  for (const ddl of neo4jSchema()) {
    const name = ddl.split(' ')[2];
    t.true((ddl.startsWith('CREATE CONSTRAINT') ? constraints : indexes).includes(name), name);
  }
});

stackTest('neo4j: times, offsets and partitions are stored as INTEGER, weights as FLOAT', async (t) => {
  const ns = `n4j${RUN}types-`;
  const graph = await Neo4jMemoryGraph.open(options);
  const admin = adminDriver();
  t.teardown(async () => {
    await deleteNamespace(admin, ns);
    await graph.close();
    await admin.close();
  });
  const A: Scope = { tenantId: `${ns}t1`, userId: 'u1' };
  const memory = (id: string) => ({
    id: `${ns}${id}`,
    text: id,
    kind: 'fact' as const,
    status: 'active' as const,
    entities: ['Alice', 'Paris'],
    triple: { subject: 'Alice', predicate: 'lives_in', object: 'Paris' },
    validFrom: 1_000,
    validTo: null,
    recordedAt: 2_000,
    supersededAt: null,
    sourceMessageIds: ['msg'],
  });
  await graph.upsertMemory(A, memory('m1'));
  await graph.upsertMemory(A, memory('m2'));
  await graph.link(A, `${ns}m1`, [{ memoryId: `${ns}m2`, weight: 1 }]);
  await graph.saveCheckpoint(`${ns}p`, 'memory-events', 1, 42);

  const [m] = await query(
    admin,
    'MATCH (m:Memory {key: $id}) RETURN valueType(m.validFrom) AS validFrom, valueType(m.validTo) AS validTo, valueType(m.recordedAt) AS recordedAt',
    { id: `${ns}m1` },
  );
  t.deepEqual(m, { validFrom: 'INTEGER NOT NULL', validTo: 'INTEGER NOT NULL', recordedAt: 'INTEGER NOT NULL' });
  const [r] = await query(
    admin,
    'MATCH (:Entity)-[r:RELATES {memoryId: $id}]->(:Entity) RETURN valueType(r.validFrom) AS validFrom, valueType(r.supersededAt) AS supersededAt',
    { id: `${ns}m1` },
  );
  t.deepEqual(r, { validFrom: 'INTEGER NOT NULL', supersededAt: 'INTEGER NOT NULL' });
  const [x] = await query(admin, 'MATCH (a:Memory {key: $id})-[x:ASSOCIATED]->() RETURN valueType(x.weight) AS weight', { id: `${ns}m1` });
  t.deepEqual(x, { weight: 'FLOAT NOT NULL' });
  const [c] = await query(
    admin,
    'MATCH (c:Checkpoint) WHERE c.projector = $p RETURN valueType(c.partition) AS partition, valueType(c.nextOffset) AS nextOffset',
    { p: `${ns}p` },
  );
  t.deepEqual(c, { partition: 'INTEGER NOT NULL', nextOffset: 'INTEGER NOT NULL' });
});

stackTest('neo4j: wrong credentials and an unknown database are ConfigErrors', async (t) => {
  await t.throwsAsync(Neo4jMemoryGraph.open({ ...options, password: `${password}-wrong` }), { instanceOf: ConfigError });
  await t.throwsAsync(Neo4jMemoryGraph.open({ ...options, database: `nosuchdb${RUN}` }), { instanceOf: ConfigError });
});
