/**
 * The Cypher shared with Neo4j is executed, not only type-checked: a scenario on LadybugDB runs
 * every port method, the adapter's tracing hook records each statement, and every statement of
 * the `CYPHER` catalogue must have run with every parameter it names. Each statement is also held
 * to the subset of DESIGN.md §2.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Scope } from '../../core/scope.js';
import { LadybugMemoryGraph } from '../../infra/embedded/memory-graph.js';
import type { CypherParams } from '../../infra/graph/cypher.js';
import { CYPHER } from '../../infra/graph/cypher.js';
import { graphMemoryFixture as mem } from '../helpers/fixtures.js';

/** Every statement of a (possibly nested) catalogue, with its dotted name. */
function statementsOf(catalogue: object, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(catalogue)) {
    if (typeof value === 'string') out.set(`${prefix}${name}`, value);
    else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of statementsOf(value as object, `${prefix}${name}.`)) out.set(k, v);
    }
  }
  return out;
}

const STATEMENTS = statementsOf(CYPHER);

/** Constructs outside the subset both engines run (DESIGN.md §2). */
const FORBIDDEN: readonly (readonly [string, RegExp])[] = [
  ['SET n += map', /\+=/],
  ['REMOVE', /\bREMOVE\b/i],
  ['CALL {} subquery', /\bCALL\s*\{/i],
  ['type(r)', /\btype\s*\(/i],
  ['timestamp()', /\btimestamp\s*\(/i],
  ['map projection', /\{\s*\.(\w|\*)/],
  ['multiple labels', /\(\s*\w*\s*:\s*`?\w+`?\s*[:&|]/],
  ['label predicate with several labels', /\b\w+:\w+:\w+/],
];

/** The `$name` parameters a statement refers to. */
function parametersOf(statement: string): string[] {
  return [...new Set([...statement.matchAll(/\$(\w+)/g)].map((m) => m[1] as string))];
}

test('the catalogue is non-trivial and every statement stays inside the shared Cypher subset', (t) => {
  t.true(STATEMENTS.size >= 30, `found ${STATEMENTS.size} statements`);
  for (const [name, statement] of STATEMENTS) {
    for (const [what, pattern] of FORBIDDEN) t.false(pattern.test(statement), `${name} uses ${what}`);
    t.false(/\$\{|undefined|\[object /.test(statement), `${name} looks interpolated`);
    t.true(statement.trim() === statement && statement.length > 0, `${name} is trimmed text`);
  }
});

test('the subset checks catch each forbidden construct', (t) => {
  const bad = [
    'MATCH (n:Memory) SET n += $props',
    'MATCH (n:Memory) REMOVE n.text',
    'CALL { MATCH (n) RETURN n } RETURN 1',
    'MATCH ()-[r]->() RETURN type(r)',
    'RETURN timestamp() AS now',
    'MATCH (n:Memory) RETURN n {.key, .text}',
    'MATCH (n:Memory:Entity) RETURN n',
    'MATCH (n:Memory&Entity) RETURN n',
  ];
  for (const statement of bad) t.true(FORBIDDEN.some(([, p]) => p.test(statement)), statement);
  for (const statement of STATEMENTS.values()) t.false(FORBIDDEN.some(([, p]) => p.test(statement)));
});

test('a scenario over every port method runs every CYPHER statement with all its parameters', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const runs: { statement: string; params: CypherParams }[] = [];
  const graph = await LadybugMemoryGraph.open(dir, { onStatement: (statement, params) => runs.push({ statement, params }) });
  t.teardown(async () => {
    await graph.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const A: Scope = { tenantId: 't1', userId: 'u1' };

  // Writes: new memories, a new version of one (replace path, orphans), lifecycle, links, erasure.
  await graph.upsertMemory(A, mem('m1', ['Alice', 'Paris'], { triple: { subject: 'Alice', predicate: 'lives_in', object: 'Paris' } }));
  await graph.upsertMemory(A, mem('m2', ['Paris', 'France']));
  await graph.upsertMemory(A, mem('m3', ['France', 'Europe']));
  await graph.upsertMemory(A, mem('m1', ['Alice', 'Lyon', 'Paris'], {
    triple: { subject: 'Alice', predicate: 'lives_in', object: 'Lyon' },
    sourceMessageIds: ['msg-m1-edit'],
  }));
  await graph.link(A, 'm1', [
    { memoryId: 'm2', weight: 1 },
    { memoryId: 'm3', weight: 0.5 },
  ]);
  await graph.setStatus(A, 'm3', 'invalidated', 5_000, 6_000);
  await graph.setStatus(A, 'm3', 'active', null, null);

  // Reads: a deep neighbourhood (every hop kind), related, entities.
  const n = await graph.neighbourhood(A, 'alice', 3, true);
  t.true(n.edges.some((e) => e.type === 'ASSOCIATED'));
  t.true(n.edges.some((e) => e.type === 'RELATES'));
  t.true((await graph.related(A, ['m1'], 10)).length > 0);
  t.true((await graph.entities(A, 10)).length > 0);

  await graph.removeMemory(A, 'm2');
  await graph.saveCheckpoint('memory-graph', 'memory-events', 0, 5);
  await graph.saveCheckpoint('memory-graph', 'memory-events', 0, 6);
  t.is(await graph.checkpoint('memory-graph', 'memory-events', 0), 6);
  await graph.clear();
  await graph.reset('memory-graph');
  t.is(await graph.checkpoint('memory-graph', 'memory-events', 0), 0);

  const executed = new Set(runs.map((r) => r.statement));
  const known = new Set(STATEMENTS.values());
  const missing = [...STATEMENTS].filter(([, s]) => !executed.has(s)).map(([name]) => name);
  t.deepEqual(missing, [], 'statements of CYPHER never executed');
  t.deepEqual(runs.filter((r) => !known.has(r.statement)).map((r) => r.statement), [], 'only catalogue statements run');

  // Every `$param` a statement names was bound on every run (Neo4j rejects a missing parameter).
  for (const { statement, params } of runs) {
    const name = [...STATEMENTS].find(([, s]) => s === statement)?.[0];
    for (const p of parametersOf(statement)) t.true(p in params, `${name} ran without $${p}`);
  }
});
