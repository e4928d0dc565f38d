/**
 * The Neo4j adapter without a server: its schema DDL, value conversion both ways, error mapping,
 * and a fake driver proving that it runs the shared CYPHER statements verbatim, one session and one
 * managed transaction per port call (write or read as fits), with converted parameters and rows.
 */
import net from 'node:net';
import test from 'ava';
import fc from 'fast-check';
import neo4j, { Neo4jError, isInt } from 'neo4j-driver';
import { ConfigError, StorageError, ValidationError } from '../../core/errors.js';
import type { Scope } from '../../core/scope.js';
import type { Neo4jDriverLike, Neo4jSession, Neo4jSessionConfig, Neo4jTx } from '../../infra/cluster/neo4j-memory-graph.js';
import { Neo4jMemoryGraph, neo4jError, neo4jSchema } from '../../infra/cluster/neo4j-memory-graph.js';
import {
  SCHEMA_PROPERTY_TYPES,
  fromDriverValue,
  propertyTypes,
  toDriverParams,
  toDriverValue,
  toRow,
} from '../../infra/cluster/neo4j-values.js';
import { CYPHER, GRAPH_SCHEMA, OPEN_END } from '../../infra/graph/cypher.js';
import { GraphProjection } from '../../streams/projectors/graph-projection.js';

const A: Scope = { tenantId: 't1', userId: 'u1' };
const STATEMENTS = new Set<string>(Object.values(CYPHER));

// ---------------------------------------------------------------- a fake driver

interface Run {
  readonly mode: 'READ' | 'WRITE';
  readonly session: number;
  readonly statement: string;
  readonly params: Record<string, unknown>;
}

type Respond = (statement: string, params: Record<string, unknown>) => Record<string, unknown>[] | Error;

/** Records sessions, transactions and statements; answers each statement with `respond`. */
class FakeDriver implements Neo4jDriverLike {
  readonly sessions: { config: Neo4jSessionConfig; transactions: ('READ' | 'WRITE')[]; closed: boolean }[] = [];
  readonly runs: Run[] = [];
  closed = 0;

  constructor(private readonly respond: Respond = () => []) {}

  session(config: Neo4jSessionConfig): Neo4jSession {
    const index = this.sessions.length;
    const state = { config, transactions: [] as ('READ' | 'WRITE')[], closed: false };
    this.sessions.push(state);
    const execute =
      (mode: 'READ' | 'WRITE') =>
      async <T>(work: (tx: Neo4jTx) => Promise<T>): Promise<T> => {
        state.transactions.push(mode);
        const tx: Neo4jTx = {
          run: async (statement, params) => {
            this.runs.push({ mode, session: index, statement, params });
            const rows = this.respond(statement, params);
            if (rows instanceof Error) throw rows;
            return { records: rows.map((row) => ({ toObject: () => row })) };
          },
        };
        return work(tx);
      };
    return {
      executeRead: execute('READ'),
      executeWrite: execute('WRITE'),
      close: async () => {
        state.closed = true;
      },
    };
  }

  async close(): Promise<void> {
    this.closed++;
  }
}

function fake(respond?: Respond): { driver: FakeDriver; graph: Neo4jMemoryGraph } {
  const driver = new FakeDriver(respond);
  return { driver, graph: new Neo4jMemoryGraph(driver, 'graphdb') };
}

function answers(byStatement: ReadonlyMap<string, Record<string, unknown>[]>): Respond {
  return (statement) => byStatement.get(statement) ?? [];
}

// ---------------------------------------------------------------- schema

test('neo4jSchema: a unique key constraint per node label and the scope, status and lookup indexes, all idempotent', (t) => {
  const ddl = neo4jSchema();
  t.deepEqual(neo4jSchema(), ddl, 'pure');
  for (const statement of ddl) {
    t.regex(statement, /^CREATE (CONSTRAINT|INDEX) engram_\w+ IF NOT EXISTS FOR /, statement);
  }
  const names = ddl.map((s) => s.split(' ')[2]);
  t.is(new Set(names).size, names.length, 'names are unique');
  for (const label of Object.keys(GRAPH_SCHEMA.nodes)) {
    t.true(ddl.includes(`CREATE CONSTRAINT engram_${label}_key IF NOT EXISTS FOR (n:${label}) REQUIRE n.key IS UNIQUE`), label);
  }
  t.is(ddl.filter((s) => s.includes('IS UNIQUE')).length, Object.keys(GRAPH_SCHEMA.nodes).length);
  for (const expected of [
    'FOR (n:Memory) ON (n.tenant, n.user)',
    'FOR (n:Entity) ON (n.tenant, n.user)',
    'FOR (n:Message) ON (n.tenant, n.user)',
    'FOR (n:Memory) ON (n.status)',
    'FOR (n:Checkpoint) ON (n.projector)',
    'FOR ()-[r:RELATES]-() ON (r.memoryId)',
  ]) {
    t.true(ddl.some((s) => s.endsWith(expected)), expected);
  }
});

test('ensureSchema runs each DDL statement verbatim in its own write transaction', async (t) => {
  const { driver, graph } = fake();
  await graph.ensureSchema();
  t.deepEqual(driver.runs.map((r) => r.statement), neo4jSchema());
  t.true(driver.runs.every((r) => r.mode === 'WRITE'));
  t.is(driver.sessions.length, neo4jSchema().length);
  t.true(driver.sessions.every((s) => s.config.database === 'graphdb' && s.transactions.length === 1 && s.closed));
});

// ---------------------------------------------------------------- values

test('parameters: schema int properties and other integers become Integer, floats stay JS numbers', (t) => {
  t.is(SCHEMA_PROPERTY_TYPES.get('validFrom'), 'int');
  t.is(SCHEMA_PROPERTY_TYPES.get('nextOffset'), 'int');
  t.is(SCHEMA_PROPERTY_TYPES.get('weight'), 'float');
  const p = toDriverParams({
    id: 'm1',
    validFrom: 1_000,
    validTo: OPEN_END,
    limit: 10,
    score: 0.5,
    includeInactive: false,
    missing: null,
    keys: ['a', 'b'],
    links: [
      { memoryId: 'x', weight: 1 },
      { memoryId: 'y', weight: 0.25 },
    ],
    nested: [[1, 2.5], { partition: 3 }],
  });
  t.is(p['id'], 'm1');
  for (const [k, expected] of [['validFrom', '1000'], ['validTo', String(OPEN_END)], ['limit', '10']] as const) {
    const v = p[k];
    t.true(isInt(v), k);
    t.is(isInt(v) ? v.toString() : '', expected, k);
  }
  t.is(p['score'], 0.5);
  t.is(p['includeInactive'], false);
  t.is(p['missing'], null);
  t.deepEqual(p['keys'], ['a', 'b']);
  // Weights are FLOAT whether integer-valued or not: one property, one type.
  t.deepEqual(p['links'], [
    { memoryId: 'x', weight: 1 },
    { memoryId: 'y', weight: 0.25 },
  ]);
  const nested = p['nested'] as unknown[];
  const pair = nested[0] as unknown[];
  t.true(isInt(pair[0]));
  t.is(pair[1], 2.5);
  t.true(isInt((nested[1] as Record<string, unknown>)['partition']));

  t.throws(() => toDriverParams({ validFrom: 1.5 }), { instanceOf: ValidationError });
  t.throws(() => toDriverParams({ nextOffset: Number.NaN }), { instanceOf: ValidationError });
  t.is(toDriverValue(2 ** 63), 2 ** 63, 'beyond int64: stays a float');
  t.is(toDriverValue(Number.POSITIVE_INFINITY), Number.POSITIVE_INFINITY);
  t.true(isInt(toDriverValue(-(2 ** 62))));
  const passed = neo4j.int(7);
  t.is(toDriverValue(passed), passed);
  t.is(String(toDriverValue(2n ** 62n)), String(2n ** 62n));
  t.throws(() => toDriverValue(new Date(0)), { instanceOf: TypeError });
  t.throws(() => propertyTypes({ nodes: { A: { properties: { x: 'int' } } }, rels: { R: { properties: { x: 'float' } } } }), {
    instanceOf: TypeError,
  });
});

test('parameters: every safe integer becomes an exact Integer and every fractional number stays itself', (t) => {
  fc.assert(
    fc.property(fc.maxSafeInteger(), (n) => {
      const v = toDriverValue(n, 'recordedAt');
      return isInt(v) && v.toString() === BigInt(n).toString() && fromDriverValue(v) === n;
    }),
  );
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)), (x) => toDriverValue(x) === x),
  );
  t.pass();
});

test('results: Integer and bigint become numbers, lists and maps deeply, null stays null', (t) => {
  t.is(fromDriverValue(neo4j.int(42)), 42);
  t.is(fromDriverValue(neo4j.int(OPEN_END)), OPEN_END, 'the open-end sentinel is exact');
  t.is(fromDriverValue(neo4j.int(-(2 ** 53) + 1)), -(2 ** 53) + 1);
  t.is(fromDriverValue(neo4j.int('9007199254740993')), 9007199254740992, 'beyond 2^53: the nearest double');
  t.is(fromDriverValue(12n), 12);
  t.is(fromDriverValue(null), null);
  t.is(fromDriverValue(undefined), null);
  t.deepEqual(fromDriverValue([neo4j.int(1), [neo4j.int(2), 'x'], { a: neo4j.int(3), b: null, c: [true, 0.5] }]), [
    1,
    [2, 'x'],
    { a: 3, b: null, c: [true, 0.5] },
  ]);
  t.throws(() => fromDriverValue(new neo4j.types.Node(neo4j.int(1), ['Memory'], {})), { instanceOf: TypeError });

  const record = new neo4j.types.Record(['name', 'mentions', 'validTo'], ['Alice', neo4j.int(3), neo4j.int(OPEN_END)]);
  t.deepEqual(toRow(record), { name: 'Alice', mentions: 3, validTo: OPEN_END });
});

// ---------------------------------------------------------------- errors

test('neo4jError: credentials and unknown databases are config errors; outages retriable; rejected queries not', (t) => {
  const err = (code: string): Neo4jError => new Neo4jError(`boom ${code}`, code, '50N42', 'error');
  const cases: [string, typeof ConfigError | typeof StorageError, boolean][] = [
    ['Neo.ClientError.Security.Unauthorized', ConfigError, false],
    ['Neo.ClientError.Security.Forbidden', ConfigError, false],
    ['Neo.ClientError.Database.DatabaseNotFound', ConfigError, false],
    ['ServiceUnavailable', StorageError, true],
    ['SessionExpired', StorageError, true],
    ['Neo.TransientError.Transaction.DeadlockDetected', StorageError, true],
    ['Neo.ClientError.Security.AuthorizationExpired', StorageError, true],
    ['Neo.ClientError.Statement.SyntaxError', StorageError, false],
    ['Neo.ClientError.Schema.ConstraintValidationFailed', StorageError, false],
    ['Neo.DatabaseError.General.UnknownError', StorageError, true],
  ];
  for (const [code, type, retriable] of cases) {
    const mapped = neo4jError(err(code), 'upsertMemory');
    t.true(mapped instanceof type, code);
    t.is((mapped as StorageError).retriable, retriable, code);
    t.regex(mapped.message, new RegExp(code.replace(/\./g, '\\.')));
  }
  const own = new ValidationError('bad');
  t.is(neo4jError(own, 'x'), own);
  const bug = new TypeError('column x: expected a string');
  t.is(neo4jError(bug, 'x'), bug);
});

// ---------------------------------------------------------------- the adapter over the fake

test('upsertMemory runs the shared statements verbatim in one write transaction with Integer times', async (t) => {
  const { driver, graph } = fake();
  await graph.upsertMemory(A, {
    id: 'm1',
    text: 'Alice lives in Paris',
    kind: 'fact',
    status: 'active',
    entities: ['Alice', 'Paris'],
    triple: { subject: 'Alice', predicate: 'lives_in', object: 'Paris' },
    validFrom: 1_000,
    validTo: null,
    recordedAt: 2_000,
    supersededAt: null,
    sourceMessageIds: ['msg-1'],
  });
  t.is(driver.sessions.length, 1);
  const [session] = driver.sessions;
  t.deepEqual(session?.config, { database: 'graphdb', defaultAccessMode: 'WRITE', bookmarkManager: undefined });
  t.deepEqual(session?.transactions, ['WRITE']);
  t.true(session?.closed);
  t.deepEqual(driver.runs.map((r) => r.statement), [
    CYPHER.memoryScope,
    CYPHER.mergeMemory,
    CYPHER.mergeMentions,
    CYPHER.mergeFactEdge,
    CYPHER.mergeSources,
  ]);
  const merge = driver.runs[1]?.params ?? {};
  t.is(merge['tenant'], 't1');
  t.is(merge['text'], 'Alice lives in Paris');
  for (const k of ['validFrom', 'validTo', 'recordedAt', 'supersededAt']) t.true(isInt(merge[k]), k);
  t.is(String(merge['validTo']), String(OPEN_END));
  t.deepEqual(driver.runs[2]?.params['entities'], [
    { key: 't1|u1|alice', name: 'Alice' },
    { key: 't1|u1|paris', name: 'Paris' },
  ]);
});

test('reads use read transactions and get plain numbers back', async (t) => {
  const rows = new Map<string, Record<string, unknown>[]>([
    [CYPHER.entitiesByKey, [{ key: 't1|u1|alice', name: 'Alice' }]],
    [CYPHER.hopMemoriesOfEntities, [{ key: 'm1' }]],
    [CYPHER.memoriesByKey, [{ key: 'm1', text: 'Alice lives in Paris', status: 'active' }]],
    [CYPHER.mentionEdgesAmong, [{ src: 'm1', dst: 't1|u1|alice' }]],
    [CYPHER.associationEdgesAmong, [{ src: 'm1', dst: 'm1', weight: 0.5 }]],
    [
      CYPHER.factEdgesAmong,
      [{ src: 't1|u1|alice', dst: 't1|u1|alice', predicate: 'is', memoryId: 'm1', validFrom: neo4j.int(1_000), validTo: neo4j.int(OPEN_END) }],
    ],
    [CYPHER.entityMentions, [{ name: 'Alice', mentions: neo4j.int(3) }]],
    [CYPHER.readCheckpoint, [{ nextOffset: neo4j.int(2 ** 40) }]],
    [CYPHER.relatedByEntities, [{ id: 'm2', shared: neo4j.int(2) }]],
    [CYPHER.relatedByAssociation, [{ seed: 'm1', id: 'm3', weight: 0.75 }]],
  ]);
  const { driver, graph } = fake(answers(rows));

  t.deepEqual(await graph.neighbourhood(A, 'Alice', 1), {
    nodes: [
      { id: 'entity:alice', label: 'Entity', name: 'Alice' },
      { id: 'm1', label: 'Memory', name: 'Alice lives in Paris', status: 'active' },
    ],
    edges: [
      { from: 'm1', to: 'm1', type: 'ASSOCIATED', weight: 0.5 },
      { from: 'm1', to: 'entity:alice', type: 'MENTIONS' },
      { from: 'entity:alice', to: 'entity:alice', type: 'RELATES', predicate: 'is', memoryId: 'm1', validFrom: 1_000, validTo: null },
    ],
  });
  t.deepEqual(await graph.entities(A, 10), [{ name: 'Alice', mentions: 3 }]);
  t.is(await graph.checkpoint('memory-graph', 'memory-events', 2), 2 ** 40);
  t.deepEqual(await graph.related(A, ['m1'], 5), [
    { id: 'm2', score: 2 },
    { id: 'm3', score: 0.75 },
  ]);

  t.is(driver.sessions.length, 4, 'one session per call');
  for (const s of driver.sessions) {
    t.is(s.config.defaultAccessMode, 'READ');
    t.deepEqual(s.transactions, ['READ']);
    t.true(s.closed);
  }
  t.true(driver.runs.every((r) => r.mode === 'READ' && STATEMENTS.has(r.statement)));
  const hop = driver.runs.find((r) => r.statement === CYPHER.hopMemoriesOfEntities);
  t.is(hop?.params['includeInactive'], false);
  t.deepEqual(hop?.params['keys'], ['t1|u1|alice']);
  const limit = driver.runs.find((r) => r.statement === CYPHER.entityMentions)?.params['limit'];
  t.true(isInt(limit) && limit.toNumber() === 10, 'LIMIT gets an INTEGER');
  const read = driver.runs.find((r) => r.statement === CYPHER.readCheckpoint);
  t.deepEqual(read?.params, { key: 'memory-graph\u001fmemory-events\u001f2' });
});

test('every write port method uses one write transaction of shared statements', async (t) => {
  const { driver, graph } = fake();
  const calls: [string, () => Promise<void>][] = [
    ['setStatus', () => graph.setStatus(A, 'm1', 'invalidated', 5_000, 6_000)],
    ['link', () => graph.link(A, 'm1', [{ memoryId: 'm2', weight: 1 }, { memoryId: 'm3', weight: 0.5 }])],
    ['removeMemory', () => graph.removeMemory(A, 'm1')],
    ['saveCheckpoint', () => graph.saveCheckpoint('memory-graph', 'memory-events', 3, 17)],
    ['reset', () => graph.reset('memory-graph')],
    ['clear', () => graph.clear()],
  ];
  for (const [name, call] of calls) {
    const before = driver.sessions.length;
    const runsBefore = driver.runs.length;
    await call();
    t.is(driver.sessions.length, before + 1, name);
    const s = driver.sessions.at(-1);
    t.is(s?.config.defaultAccessMode, 'WRITE', name);
    t.deepEqual(s?.transactions, ['WRITE'], name);
    t.true(s?.closed, name);
    t.true(driver.runs.length > runsBefore, name);
  }
  t.true(driver.runs.every((r) => r.mode === 'WRITE' && STATEMENTS.has(r.statement)));

  const status = driver.runs.find((r) => r.statement === CYPHER.setMemoryStatus)?.params ?? {};
  t.true(isInt(status['validTo']) && isInt(status['supersededAt']));
  const links = driver.runs.filter((r) => r.statement === CYPHER.mergeLinks).flatMap((r) => r.params['links'] as { weight: unknown }[]);
  t.deepEqual(links.map((l) => l.weight), [1, 0.5], 'weights are sent as JS numbers (FLOAT)');
  const save = driver.runs.find((r) => r.statement === CYPHER.writeCheckpoint)?.params ?? {};
  t.true(isInt(save['partition']) && isInt(save['nextOffset']));
  t.deepEqual(
    driver.runs.slice(-3).map((r) => r.statement),
    [CYPHER.clearMemories, CYPHER.clearEntities, CYPHER.clearMessages],
  );
});

test('the GraphProjection takes the Neo4j graph as graph and checkpoint store', async (t) => {
  const { driver, graph } = fake();
  const projection = new GraphProjection(graph, graph);
  await projection.reset();
  t.deepEqual(driver.runs.map((r) => r.statement), [CYPHER.clearMemories, CYPHER.clearEntities, CYPHER.clearMessages, CYPHER.deleteCheckpoints]);
  t.deepEqual(driver.runs.at(-1)?.params, { projector: 'memory-graph' });
  t.deepEqual(driver.sessions.map((s) => s.transactions), [['WRITE'], ['WRITE']]);
});

test('driver failures are mapped after the transaction; validation errors pass through; sessions always close', async (t) => {
  let failure: Error = new Neo4jError('Invalid input', 'Neo.ClientError.Statement.SyntaxError', '42001', 'syntax');
  const { driver, graph } = fake(() => failure);
  const rejected = await t.throwsAsync(graph.entities(A, 5), { instanceOf: StorageError });
  t.false(rejected.retriable);
  t.is(rejected.details['neo4jCode'], 'Neo.ClientError.Statement.SyntaxError');

  failure = new Neo4jError('connection lost', 'ServiceUnavailable', '08000', 'unavailable');
  const down = await t.throwsAsync(graph.saveCheckpoint('p', 'memory-events', 0, 1), { instanceOf: StorageError });
  t.true(down.retriable);

  failure = new Neo4jError('bad credentials', 'Neo.ClientError.Security.Unauthorized', '42NFF', 'auth');
  await t.throwsAsync(graph.checkpoint('p', 'memory-events', 0), { instanceOf: ConfigError });

  const runs = driver.runs.length;
  await t.throwsAsync(graph.entities({ tenantId: 'bad tenant', userId: 'u1' }, 5), { instanceOf: ValidationError });
  t.is(driver.runs.length, runs, 'nothing ran');
  t.true(driver.sessions.every((s) => s.closed));
});

test('close closes the driver once; later calls fail without opening a session', async (t) => {
  const { driver, graph } = fake();
  await graph.close();
  await graph.close();
  t.is(driver.closed, 1);
  const err = await t.throwsAsync(graph.entities(A, 5), { instanceOf: StorageError });
  t.false(err.retriable);
  t.is(driver.sessions.length, 0);
});

// ---------------------------------------------------------------- open() without a server

test('open() fails fast with a retriable StorageError when nothing listens, and a ConfigError for a bad URL', async (t) => {
  const port = await new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
  const opts = { user: 'neo4j', password: 'secret', database: 'neo4j', connectionTimeoutMs: 2_000, maxTransactionRetryTimeMs: 0 };
  const err = await t.throwsAsync(Neo4jMemoryGraph.open({ ...opts, url: `bolt://127.0.0.1:${port}` }), { instanceOf: StorageError });
  t.true(err.retriable);
  t.regex(err.message, /unavailable/i);
  await t.throwsAsync(Neo4jMemoryGraph.open({ ...opts, url: 'http://localhost:7474' }), { instanceOf: ConfigError });
});
