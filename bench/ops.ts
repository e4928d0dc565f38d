/**
 * Per-operation benchmark (HaluMem's spirit: extraction, updating and conflict handling measured
 * separately) over the hand-labelled fixture in test/fixtures/ops/: extraction precision/recall,
 * ADD/UPDATE/DELETE/NOOP accuracy with a confusion matrix, conflict-detection and restoration
 * precision/recall, and date resolution. Runs offline, and again with the language model when
 * one is configured (ENGRAM_LLM_*). Prints tables; `--json FILE` writes the same figures.
 * `--fixture DIR` scores another fixture directory (e.g. the held-out test/fixtures/ops-holdout).
 *
 *   npm run bench:ops -- [--fixture DIR] [--json FILE] [--llm] [--examples N]
 */
import { tmpdir } from 'node:os';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { progressBar } from '../apps/cli/progress.js';
import { FIXTURE_DIR, loadFixture, type OpsFixture } from './ops/fixture.js';
import { observe } from './ops/observe.js';
import { caseRows, confusionRows, failureKinds, summaryRows, type FailureKind } from './ops/report.js';
import { benchConfig, describeLlm, offlineEnv, runFixture } from './ops/run.js';
import { score, type OpsScore } from './ops/score.js';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    fixture: { type: 'string', default: FIXTURE_DIR },
    llm: { type: 'boolean', default: false },
    examples: { type: 'string', default: '6' },
  },
});
const examples = Number(values.examples);

interface RunResult {
  readonly score: OpsScore;
  readonly failures: FailureKind[];
  readonly seconds: number;
  readonly memoryEvents: number;
  readonly deadLettered: number;
}

async function runOne(fixture: OpsFixture, name: string, env: Readonly<Record<string, string | undefined>>): Promise<RunResult> {
  const bar = progressBar(`ops ${name}`);
  const run = await runFixture(fixture, env, (done, total) => bar.update(done, total, 'events'));
  bar.stop();
  const observed = observe(run.events, fixture);
  const scored = score(fixture, observed);
  return {
    score: scored.score,
    // Every example goes to the JSON; the printout shows the first few.
    failures: failureKinds(fixture, observed, scored.details, Number.MAX_SAFE_INTEGER),
    seconds: Number(run.seconds.toFixed(2)),
    memoryEvents: run.events.length,
    deadLettered: run.deadLettered,
  };
}

const fixture = loadFixture(values.fixture);
const llm = describeLlm(benchConfig(process.env, tmpdir()));
if (values.llm && llm === null) {
  console.error('bench:ops --llm: no language model is configured (set the ENGRAM_LLM_* settings)');
  process.exit(1);
}

const runs: Record<string, RunResult> = {};
runs.offline = await runOne(fixture, 'offline', offlineEnv(process.env));
if (llm !== null) runs.llm = await runOne(fixture, 'llm', process.env);

const scores = Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, r.score]));
console.log(
  `Fixture: ${fixture.users.length} users, ${fixture.messages.length} messages, ${fixture.redactions.length} redactions.`,
);
console.table([
  ...summaryRows(scores),
  Object.fromEntries([['measure', 'seconds'], ...Object.entries(runs).map(([k, r]) => [k, r.seconds])]),
]);
if (llm === null) console.log('LLM column not run: no language model is configured (ENGRAM_LLM_*).');
else console.log(`LLM column: ${llm}.`);
for (const [name, r] of Object.entries(runs)) {
  console.log(`\nDecisions (${name}): rows expected op, columns produced op`);
  console.table(confusionRows(r.score));
}
console.log('\nExtraction recall per case');
console.table(caseRows(scores));
for (const [name, r] of Object.entries(runs)) {
  console.log(`\nMost common failures (${name})`);
  for (const f of r.failures.slice(0, 10)) {
    console.log(`- ${f.kind}: ${f.count}`);
    for (const e of f.examples.slice(0, examples)) console.log(`    ${e}`);
  }
}

if (values.json) {
  const out = {
    fixture: { dir: values.fixture, users: fixture.users.length, messages: fixture.messages.length, redactions: fixture.redactions.length },
    llm: { configured: llm !== null, description: llm },
    runs,
  };
  writeFileSync(values.json, `${JSON.stringify(out, null, 2)}\n`);
}
