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
 */
import { writeFileSync } from 'node:fs';
import { resourceUsage } from 'node:process';
import { Command, Option } from 'commander';
import { Engine } from '../apps/engine.js';
import { scopeOf, type Scope } from '../core/scope.js';
import { loadConfig } from '../infra/config.js';
import { removeDir, tempDir } from '../test/helpers/engine.js';
import { embedPool, fillPhase, ingestPhase, rebuildPhase, RecordingModel, searchPhase } from './perf/phases.js';
import { denseRecall } from './perf/dense-recall.js';
import { perfJson, perfRows, type PerfFigures } from './perf/report.js';
import { RssSampler } from './perf/rss.js';
import { conversations, memoryTexts, questions } from './perf/texts.js';

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

const rss = new RssSampler();
const dirs: string[] = [];
const configFor = (prefix: string) => {
  const dataDir = tempDir(prefix);
  dirs.push(dataDir);
  return loadConfig(process.env, { dataDir, profile: 'embedded' });
};

const model = new RecordingModel();
rss.begin('model load');
await model.embed(['Warm up the sentence encoder.', 'A second sentence, so a batch runs.']);

let ingest: PerfFigures['ingest'] = null;
const search: Record<string, PerfFigures['search'][string]> = {};
let project: PerfFigures['project'] = null;
let rebuild: PerfFigures['rebuild'] = null;

try {
  if (has('ingest')) {
    rss.begin('ingest');
    const events = conversations({ users: scale.users, messages: scale.messages, seed: 7 });
    ingest = await ingestPhase(configFor('engram-perf-ingest-'), model, events, () => rss.begin('embedder alone'));
  }

  if (has('search')) {
    const config = configFor('engram-perf-search-');
    const engine = await Engine.open(config, { embedder: model });
    try {
      rss.begin('embedding pool');
      const name = 'Maya';
      const pool = await embedPool(engine, memoryTexts(scale.pool, 3, name));
      // Each search phase asks its own questions: a question asked before would find its vector in
      // the embedder's cache, and the latency must include embedding the query.
      const asked = questions(3 * scale.queries, 5, name);
      const qsFor = (phase: number): string[] => asked.slice(phase * scale.queries, (phase + 1) * scale.queries);
      const one = scopeOf('perf', 'maya');
      let projectEvents = 0;
      let projectSeconds = 0;
      const fill = async (plan: readonly (readonly [Scope, number, number])[], what: string): Promise<void> => {
        rss.begin(`fill ${what}`);
        const r = await fillPhase(engine, config, pool, plan, what);
        projectEvents += r.events;
        projectSeconds += r.projectSeconds;
      };
      const [small, large] = scale.single;
      await fill([[one, 0, small]], label(small));
      rss.begin(`search ${label(small)}`);
      search['10k'] = { memories: small, label: `1 user × ${label(small)}`, ms: await searchPhase(engine, [one], qsFor(0), label(small), 11), queries: scale.queries };
      await fill([[one, small, large - small]], label(large));
      rss.begin(`search ${label(large)}`);
      const ms = await searchPhase(engine, [one], qsFor(1), label(large), 12);
      search['100k'] = { memories: large, label: `1 user × ${label(large)}`, ms, queries: scale.queries, denseRecall: await denseRecall(engine, one, qsFor(1).slice(0, 50)) };
      const tenants = Array.from({ length: scale.tenants }, (_, t) => scopeOf(`tenant${t}`, 'maya'));
      const tenantsLabel = `${scale.tenants} tenants × ${label(scale.perTenant)}`;
      await fill(tenants.map((s) => [s, 0, scale.perTenant] as const), tenantsLabel);
      rss.begin('search tenants');
      search.tenants = { memories: scale.tenants * scale.perTenant, label: tenantsLabel, ms: await searchPhase(engine, tenants, qsFor(2), 'tenants', 13), queries: scale.queries };
      project = { events: projectEvents, seconds: projectSeconds };

      if (has('rebuild')) {
        rss.begin('rebuild');
        rebuild = await rebuildPhase(engine);
        // The rebuilt index answers like the live one did.
        if ((await engine.ports.vectors.count(one)) !== large) throw new Error('rebuild lost memories');
      }
    } finally {
      await engine.close();
    }
  }
} finally {
  rss.end();
  if (!opts.keep) for (const d of dirs) removeDir(d);
}

const figures: PerfFigures = {
  scale: opts.scale,
  ingest,
  search,
  project,
  rebuild,
  rssByPhase: rss.result(),
  cpuByPhase: rss.cpuSeconds(),
  // maxRSS is in kilobytes and covers the whole process, whatever the sampler missed.
  peakRssMb: Math.round(Math.max(rss.max(), resourceUsage().maxRSS / 1024)),
};
console.table(perfRows(figures));
if (opts.json) writeFileSync(opts.json, `${JSON.stringify(perfJson(figures), null, 2)}\n`);
if (opts.keep) console.log(`data directories kept: ${dirs.join(', ')}`);
