/**
 * Performance benchmark (issue 7), embedded profile: ingest end to end against the embedder alone
 * on the same texts; search latency (query embedding included) for one user with 10k and 100k
 * memories and for 100 tenants of 1k; rebuild speed and model calls during `replay`; peak RSS per
 * phase. Prints a table; `--json OUT` writes the figures.
 *
 *   npm run bench:perf -- [--scale small|full] [--json OUT] [--phases ingest,search,rebuild]
 *
 * `small` (the default) is a quick look: 2k and 10k memories, 10 tenants × 200, a short ingest.
 * Search stores are filled by writing MemoryAdded events straight into `memory-events` (real
 * embeddings of a pool of distinct texts, the rest perturbed copies), then projected.
 *
 * Every phase runs in a process of its own on the phase's data directory (bench/perf/phase-process.ts),
 * as the product runs it: searches are answered by an engine opened on the filled directory, the
 * rebuild is a fresh `replay`. A phase's peak RSS is its process's and that process's children's.
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { scopeOf, type Scope } from '../core/scope.js';
import { removeDir, tempDir } from '../test/helpers/engine.js';
import { hostProbeMs } from './perf/host-probe.js';
import type { PhaseJob, PhaseReply } from './perf/phase-process.js';
import type { IngestResult } from './perf/phases.js';
import { perfJson, perfRows, type PerfFigures } from './perf/report.js';
import type { Percentiles } from './perf/stats.js';
import { questions } from './perf/texts.js';

interface Scale {
  readonly users: number;
  readonly messages: number;
  readonly pool: number;
  readonly single: readonly [number, number];
  readonly tenants: number;
  readonly perTenant: number;
  readonly queries: number;
}

const SCALES: Record<'small' | 'full', Scale> = {
  small: { users: 4, messages: 120, pool: 2000, single: [2000, 10_000], tenants: 10, perTenant: 200, queries: 100 },
  full: { users: 6, messages: 200, pool: 8000, single: [10_000, 100_000], tenants: 100, perTenant: 1000, queries: 300 },
};
const PHASES = ['ingest', 'search', 'rebuild'] as const;
type Phase = (typeof PHASES)[number];

const program = new Command('bench:perf')
  .description('Engram performance benchmark on the embedded profile')
  .addOption(new Option('--scale <scale>', 'data set sizes').choices(['small', 'full']).default('small'))
  .option('--json <file>', 'write the figures as JSON')
  .option('--phases <list>', `comma-separated subset of ${PHASES.join(',')}`, PHASES.join(','))
  .option('--keep', 'keep the temporary data directories')
  .parse();
const opts = program.opts<{ scale: 'small' | 'full'; json?: string; phases: string; keep?: boolean }>();
const phases = new Set(opts.phases.split(',').map((p) => p.trim()));
for (const p of phases) if (!(PHASES as readonly string[]).includes(p)) program.error(`unknown phase ${p} (phases: ${PHASES.join(', ')})`);
if (phases.has('rebuild') && !phases.has('search')) program.error('rebuild replays the search stores: run it with the search phase');
const scale = SCALES[opts.scale];
const has = (p: Phase): boolean => phases.has(p);
const label = (n: number): string => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

const dirs: string[] = [];
const dataDir = (prefix: string): string => {
  const dir = tempDir(prefix);
  dirs.push(dir);
  return dir;
};
const rssByPhase: Record<string, number> = {};
const cpuByPhase: Record<string, number> = {};
/** At most how many memories the store held during each phase (the RSS target is set at 100k memories). */
const memoriesByPhase: Record<string, number> = {};
let peakRssMb = 0;

/**
 * Runs one phase in a fresh process (bench/perf/phase-process.ts) and returns its figures;
 * `memories`: at most how many memories its store held, or how to tell from its figures.
 */
async function inProcess<T>(job: PhaseJob, memories: number | ((result: T) => number)): Promise<T> {
  const child = fork(fileURLToPath(new URL('./perf/phase-process.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const reply = await new Promise<PhaseReply>((resolve, reject) => {
    let answer: PhaseReply | null = null;
    child.once('message', (m) => (answer = m as PhaseReply));
    child.once('error', reject);
    child.once('exit', (code, signal) => (answer ? resolve(answer) : reject(new Error(`the ${job.phase} process ended (${signal ?? `exit ${code}`}) without an answer`))));
    child.send(job);
  });
  if (reply.error !== undefined) throw new Error(`the ${job.phase} phase failed: ${reply.error}`);
  const result = reply.result as T;
  const held = typeof memories === 'number' ? memories : memories(result);
  for (const [k, v] of Object.entries(reply.rss)) {
    rssByPhase[k] = Math.max(rssByPhase[k] ?? 0, v);
    memoriesByPhase[k] = Math.max(memoriesByPhase[k] ?? 0, held);
  }
  for (const [k, v] of Object.entries(reply.cpu)) cpuByPhase[k] = Math.round(((cpuByPhase[k] ?? 0) + v) * 100) / 100;
  peakRssMb = Math.max(peakRssMb, reply.peakMb);
  return result;
}

// The host's speed before the phases (and after them, below): the same code's figures move with it.
const probeBefore = hostProbeMs();
let ingest: PerfFigures['ingest'] = null;
const search: Record<string, PerfFigures['search'][string]> = {};
let project: PerfFigures['project'] = null;
let rebuild: PerfFigures['rebuild'] = null;
let rebuildAtTarget: PerfFigures['rebuild'] = null;

try {
  if (has('ingest')) {
    // Its store holds at most one memory per memory event it produced.
    ingest = await inProcess<IngestResult>({ phase: 'ingest', dataDir: dataDir('engram-perf-ingest-'), users: scale.users, messages: scale.messages }, (r) => r.memoryEvents);
  }

  if (has('search')) {
    const dir = dataDir('engram-perf-search-');
    const name = 'Maya';
    // The pool fills the embedding cache only: no memories yet.
    await inProcess({ phase: 'pool', dataDir: dir, pool: scale.pool, name }, 0);
    let held = 0;
    // Each search phase asks its own questions: a question asked before would find its vector in
    // the embedder's cache, and the latency must include embedding the query.
    const asked = questions(3 * scale.queries, 5, name);
    const qsFor = (phase: number): string[] => asked.slice(phase * scale.queries, (phase + 1) * scale.queries);
    const warmup = questions(20, 6, name).filter((q) => !asked.includes(q));
    const one = scopeOf('perf', 'maya');
    let projectEvents = 0;
    let projectSeconds = 0;
    const fill = async (plan: readonly (readonly [Scope, number, number])[], what: string): Promise<void> => {
      held += plan.reduce((sum, [, , n]) => sum + n, 0);
      const r = await inProcess<{ events: number; projectSeconds: number }>({ phase: 'fill', dataDir: dir, pool: scale.pool, name, label: what, plan }, held);
      projectEvents += r.events;
      projectSeconds += r.projectSeconds;
    };
    const searchIn = (label: string, scopes: readonly Scope[], phase: number, recall: boolean): Promise<{ ms: Percentiles; denseRecall?: number | null }> =>
      inProcess({ phase: 'search', dataDir: dir, label, scopes, questions: qsFor(phase), warmup, seed: 11 + phase, ...(recall ? { denseRecallScope: one } : {}) }, held);
    const rebuildNow = (what: string): Promise<NonNullable<PerfFigures['rebuild']>> =>
      inProcess<Omit<NonNullable<PerfFigures['rebuild']>, 'memories'>>({ phase: 'rebuild', dataDir: dir, label: what, expect: { scope: one, memories: large } }, held).then((r) => ({ ...r, memories: held }));
    const [small, large] = scale.single;
    await fill([[one, 0, small]], label(small));
    search['10k'] = { memories: small, label: `1 user × ${label(small)}`, ms: (await searchIn(label(small), [one], 0, false)).ms, queries: scale.queries };
    await fill([[one, small, large - small]], label(large));
    const big = await searchIn(label(large), [one], 1, true);
    search['100k'] = { memories: large, label: `1 user × ${label(large)}`, ms: big.ms, queries: scale.queries, denseRecall: big.denseRecall ?? null };
    // A rebuild at the size the memory target is set at; the whole store is rebuilt at the end.
    if (has('rebuild')) rebuildAtTarget = await rebuildNow('of one user');
    const tenants = Array.from({ length: scale.tenants }, (_, t) => scopeOf(`tenant${t}`, 'maya'));
    const tenantsLabel = `${scale.tenants} tenants × ${label(scale.perTenant)}`;
    await fill(tenants.map((s) => [s, 0, scale.perTenant] as const), tenantsLabel);
    search.tenants = { memories: scale.tenants * scale.perTenant, label: tenantsLabel, ms: (await searchIn('tenants', tenants, 2, false)).ms, queries: scale.queries };
    project = { events: projectEvents, seconds: projectSeconds };

    if (has('rebuild')) rebuild = await rebuildNow('of the whole store');
  }
} finally {
  if (!opts.keep) for (const d of dirs) removeDir(d);
}

const figures: PerfFigures = {
  scale: opts.scale,
  ingest,
  search,
  project,
  rebuild,
  rebuildAtTarget,
  rssByPhase,
  memoriesByPhase,
  cpuByPhase,
  peakRssMb,
  hostProbeMs: { before: probeBefore, after: hostProbeMs() },
};
console.table(perfRows(figures));
if (opts.json) writeFileSync(opts.json, `${JSON.stringify(perfJson(figures), null, 2)}\n`);
if (opts.keep) console.log(`data directories kept: ${dirs.join(', ')}`);
