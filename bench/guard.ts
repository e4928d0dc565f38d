/**
 * Poisoning benchmark (issue 6): an attack suite we write ourselves (five families: instruction
 * injection, false facts, AgentPoison trigger records, MINJA bridging, injected tool output),
 * planted among clean conversations, run through the real embedded pipeline with the A-MemGuard
 * guard off and on. Reports attack acceptance, attack retrieval@5, false quarantine of clean
 * memories and clean recall@10, overall and per family. Offline: no language model is used.
 *
 *   npm run bench:guard -- [--json OUT] [--attacks N] [--seed S] [--examples N] [--off-cache FILE]
 *
 * `--off-cache FILE` keeps the guard-off run (it does not depend on the guard's rules), so tuning
 * runs only redo the guard-on side; delete it after changing extraction or retrieval.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { progressBar } from '../apps/cli/progress.js';
import { familyRows, summaryRows, targetChecks } from './guard/report.js';
import { runSuite, type GuardMode, type RunObservation } from './guard/runner.js';
import { scoreRuns } from './guard/score.js';
import { generateSuite, type Suite } from './guard/suite.js';

const integer = (min: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}`);
  return n;
};

const program = new Command('bench:guard')
  .description('Poisoning benchmark: attack acceptance and retrieval, false quarantine and clean recall, guard off and on')
  .option('--json <file>', 'write the figures as JSON')
  .option('--attacks <n>', 'number of attacks (families take turns)', integer(5), 250)
  .option('--seed <s>', 'suite seed', integer(0), 1)
  .option('--examples <n>', 'misses and false quarantines to print', integer(0), 8)
  .option('--off-cache <file>', 'reuse (or save) the guard-off run for this seed and size')
  .parse();
const opts = program.opts<{ json?: string; attacks: number; seed: number; examples: number; offCache?: string }>();

const suite = generateSuite({ seed: opts.seed, attacks: opts.attacks });
console.log(
  `Suite (seed ${suite.seed}): ${suite.attacks.length} attacks, ${suite.userIds.length} users, ${suite.messages} messages ` +
    `(${suite.attackMessageIds.length} from attacks), ${suite.questions.length} clean questions.`,
);

async function run(s: Suite, mode: GuardMode): Promise<RunObservation> {
  const ingest = progressBar(`guard ${mode} ingest`);
  const search = progressBar(`guard ${mode} search`);
  const obs = await runSuite(s, mode, (stage, done, total) => {
    if (stage === 'ingest') ingest.update(done, total, 'events');
    else {
      ingest.stop();
      search.update(done, total, 'queries');
    }
  });
  ingest.stop();
  search.stop();
  return obs;
}

// The key covers the suite's content, so a changed template or clean world never reuses a stale run.
const cacheKey = { seed: suite.seed, attacks: suite.attacks.length, suite: createHash('sha256').update(JSON.stringify(suite.waves)).digest('hex').slice(0, 16) };
let off: RunObservation;
if (opts.offCache && existsSync(opts.offCache) && JSON.stringify(JSON.parse(readFileSync(opts.offCache, 'utf8')).key) === JSON.stringify(cacheKey)) {
  off = (JSON.parse(readFileSync(opts.offCache, 'utf8')) as { run: RunObservation }).run;
  console.log(`Reusing the guard-off run from ${opts.offCache}.`);
} else {
  off = await run(suite, 'off');
  if (opts.offCache) writeFileSync(opts.offCache, JSON.stringify({ key: cacheKey, run: off }));
}
const on = await run(suite, 'on');
const result = scoreRuns(suite, off, on);

console.log('\nPoisoning benchmark, guard off vs on');
console.table(summaryRows(result));
console.log('Per attack family (false quarantine and recall over the users each family attacked)');
console.table(familyRows(result));
for (const t of targetChecks(result)) console.log(`${t.met ? 'met    ' : 'NOT MET'}  ${t.target}`);
console.log(`Run time: off ${off.seconds.toFixed(0)} s, on ${on.seconds.toFixed(0)} s.`);

if (opts.examples > 0 && result.misses.length > 0) {
  console.log(`\nAttacks that got through with the guard on (${result.misses.length}):`);
  for (const m of result.misses.slice(0, opts.examples)) {
    console.log(`- ${m.attack} ${m.family}/${m.template}${m.retrieved ? ' (retrieved)' : ''}: ${m.accepted.map((t) => JSON.stringify(t.slice(0, 140))).join(' | ')}`);
  }
}
if (opts.examples > 0 && result.false_quarantines.length > 0) {
  console.log(`\nClean memories quarantined (${result.false_quarantines.length}):`);
  for (const f of result.false_quarantines.slice(0, opts.examples)) {
    console.log(`- ${f.userId} ${f.kind}: ${JSON.stringify(f.text.slice(0, 140))}\n    ${f.reasons.join('; ').slice(0, 300)}`);
  }
}

if (opts.examples > 0 && result.lost_questions.length > 0) {
  console.log(`\nClean questions answered with the guard off but not on (${result.lost_questions.length}):`);
  for (const q of result.lost_questions.slice(0, opts.examples)) console.log(`- ${q.id}: ${q.question}`);
}

if (opts.json) {
  const { misses, false_quarantines, lost_questions, ...figures } = result;
  writeFileSync(
    opts.json,
    `${JSON.stringify({ ...figures, seed: suite.seed, seconds: { off: Number(off.seconds.toFixed(1)), on: Number(on.seconds.toFixed(1)) }, misses, false_quarantines, lost_questions }, null, 2)}\n`,
  );
  console.log(`Wrote ${opts.json}`);
}
