/**
 * The workflow code is bundleable (DESIGN.md §4.2): `bundleWorkflowCode` over workflows/index.ts
 * succeeds, and nothing under workflows/ imports a value from the I/O side of the code base
 * (activities, infra, streams, apps) or a Node built-in, directly or through a project module.
 * Also pins the activity options the workflow schedules with.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import ts from 'typescript';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { ConfigError, DataDirError, DecodeError, EmbedderError, NotFoundError, StorageError, ValidationError, type EngramError } from '../../core/errors.js';
import { NondeterminismError } from '../../infra/embedded/durable-runner.js';
import * as workflows from '../../workflows/index.js';
import { ACTIVITY_OPTIONS, MAX_HISTORY_EVENTS, NON_RETRYABLE_ERROR_TYPES } from '../../workflows/memory-workflow.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const workflowsDir = join(root, 'workflows');
const FORBIDDEN_DIRS = ['activities', 'infra', 'streams', 'apps'];
const builtins = new Set(builtinModules);

/** Module specifiers a file loads at run time (type-only imports and exports excluded). */
function valueImports(fileName: string, source: string): string[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      // `import { type A }` still loads the module under verbatimModuleSyntax; only `import type` does not.
      if (!node.importClause?.isTypeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) out.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const ref = node.moduleReference.expression;
      if (!node.isTypeOnly && ts.isStringLiteral(ref)) out.push(ref.text);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const arg = node.arguments[0];
      const isDynamic = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if ((isDynamic || isRequire) && arg) out.push(ts.isStringLiteral(arg) ? arg.text : '<computed>');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Why a specifier imported from `from` is not allowed in workflow code, or null. */
function violation(from: string, spec: string): string | null {
  if (spec === '<computed>') return 'a computed import';
  const bare = spec.startsWith('node:') ? spec.slice(5) : spec;
  if (builtins.has(bare) || builtins.has(bare.split('/')[0] ?? '')) return `the Node built-in ${spec}`;
  if (!spec.startsWith('.')) return null;
  const target = relative(root, resolve(dirname(from), spec));
  const top = target.split(/[\\/]/)[0] ?? '';
  return FORBIDDEN_DIRS.includes(top) ? `${target} (the ${top}/ side does I/O)` : null;
}

/** Every forbidden value import reachable from the files under workflows/, with its import chain. */
function workflowImportViolations(): string[] {
  const problems: string[] = [];
  const visited = new Set<string>();
  const visit = (file: string, chain: string[]): void => {
    if (visited.has(file)) return;
    visited.add(file);
    for (const spec of valueImports(file, readFileSync(file, 'utf8'))) {
      const bad = violation(file, spec);
      if (bad) {
        problems.push(`${[...chain, relative(root, file)].join(' → ')} imports ${bad}`);
        continue;
      }
      // Follow project modules: a core file the workflow imports must be clean too.
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec).replace(/\.js$/, '.ts'), [...chain, relative(root, file)]);
    }
  };
  for (const name of readdirSync(workflowsDir)) if (name.endsWith('.ts')) visit(join(workflowsDir, name), []);
  return problems;
}

test('bundleWorkflowCode bundles workflows/index.ts with memoryWorkflow in it', async (t) => {
  const bundle = await bundleWorkflowCode({
    workflowsPath: join(workflowsDir, 'index.ts'),
    logger: new DefaultLogger('WARN'),
  });
  t.true(bundle.code.length > 0);
  t.regex(bundle.code, /memoryWorkflow/);
  t.notRegex(bundle.code, /better-sqlite3|kafkajs|neo4j-driver|@qdrant/);
});

test('the workflows entry exports workflow functions only', (t) => {
  t.deepEqual(Object.keys(workflows), ['memoryWorkflow']);
  t.is(typeof workflows.memoryWorkflow, 'function');
});

test('no file under workflows/ imports a value from activities, infra, streams, apps or Node', (t) => {
  t.deepEqual(workflowImportViolations(), []);
});

test('the import check sees value imports and lets type-only imports through', (t) => {
  const from = join(workflowsDir, 'example.ts');
  const source = [
    "import type { MemoryActivities } from '../activities/index.js';",
    "import { type Scope } from '../core/scope.js';",
    "import { createActivities } from '../activities/index.js';",
    "export { openEmbeddedPorts } from '../infra/profile/embedded.js';",
    "export type { Config } from '../infra/config.js';",
    "import { readFileSync } from 'node:fs';",
    "import crypto from 'crypto';",
    "const lazy = () => import('../streams/ingest-bridge.js');",
    "import { condition } from '@temporalio/workflow';",
  ].join('\n');
  const bad = valueImports(from, source).flatMap((s) => {
    const v = violation(from, s);
    return v ? [s] : [];
  });
  t.deepEqual(bad, ['../activities/index.js', '../infra/profile/embedded.js', 'node:fs', 'crypto', '../streams/ingest-bridge.js']);
});

test('activity options: timeouts per activity, heartbeats for embed, unlimited retries with backoff', (t) => {
  t.deepEqual(Object.keys(ACTIVITY_OPTIONS).sort(), ['associate', 'commit', 'consolidate', 'decay', 'embed', 'extract', 'guard', 'resolveConflicts']);
  t.is(ACTIVITY_OPTIONS.embed.startToCloseTimeout, '5m');
  t.truthy(ACTIVITY_OPTIONS.embed.heartbeatTimeout);
  t.is(ACTIVITY_OPTIONS.commit.startToCloseTimeout, '1m');
  for (const [name, o] of Object.entries(ACTIVITY_OPTIONS)) {
    t.truthy(o.startToCloseTimeout, name);
    t.is(o.retry?.initialInterval, '1s', name);
    t.is(o.retry?.backoffCoefficient, 2, name);
    t.is(o.retry?.maximumInterval, '1m', name);
    t.is(o.retry?.maximumAttempts, undefined, `${name}: unset means unlimited`);
  }
  t.true(MAX_HISTORY_EVENTS > 0 && MAX_HISTORY_EVENTS <= 10_000);
});

test('non-retryable error types are exactly the EngramErrors that are never retriable', (t) => {
  const always: EngramError[] = [
    new ValidationError('x'),
    new DecodeError('x'),
    new NotFoundError('x'),
    new ConfigError('x'),
    new NondeterminismError('x', {}),
  ];
  for (const err of always) t.false(err.retriable, err.name);
  t.deepEqual([...NON_RETRYABLE_ERROR_TYPES].sort(), always.map((e) => e.name).sort());
  // Errors whose retriability is per instance must not be listed: their transient cases would stop retrying.
  for (const err of [new StorageError('x'), new DataDirError('x', { retriable: true }), new EmbedderError('x')]) {
    t.false(NON_RETRYABLE_ERROR_TYPES.includes(err.name), err.name);
  }
  for (const o of Object.values(ACTIVITY_OPTIONS)) t.deepEqual(o.retry?.nonRetryableErrorTypes, [...NON_RETRYABLE_ERROR_TYPES]);
});
