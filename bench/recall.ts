/**
 * LoCoMo evidence-recall benchmark (DESIGN.md §6): every turn ingested through the real embedded
 * pipeline, one isolated user per conversation; for each question of categories 1-4, a search at
 * k = 25 and the fraction of its evidence turns among the `sources` of the top k. Reports recall@1,
 * 5, 10, 25 per category, recall within token budgets, MRR, search latency, a BM25-over-turns
 * baseline and an ablation per retrieval stage. Prints tables; `--json FILE` writes the figures.
 *
 *   npm run bench:recall -- --locomo ../shared/data/locomo/locomo-dev.json [--json OUT]
 *     [--conversations N] [--data DIR] [--audit FILE] [--no-ablations]
 *
 * `--data DIR` keeps the ingested store so later runs only search (delete it after changing
 * extraction). `--audit FILE` also reports recall against the audited evidence.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { countTokens } from 'gpt-tokenizer';
import { Engine } from '../apps/engine.js';
import { progressBar } from '../apps/cli/progress.js';
import { scopeOf } from '../core/scope.js';
import { loadConfig } from '../infra/config.js';
import { RETRIEVAL_STAGES, type RetrievalStage } from '../readmodels/retrieval/stages.js';
import { auditedQuestions, loadAudit } from './recall/audit.js';
import { TurnBm25 } from './recall/baseline.js';
import { conversationEvents, loadLocomo, LocomoFileError, userIdOf, type LocomoConversation, type LocomoQuestion } from './recall/locomo.js';
import { meanReciprocalRank, percentile, recallTable, scoreQuestion, tokenRecall, type QuestionScore, type RankedResult, type RecallTable } from './recall/score.js';
import { removeDir, tempDir } from '../test/helpers/engine.js';

const TENANT = 'locomo';
const K = 25;

const { values } = parseArgs({
  options: {
    locomo: { type: 'string' },
    json: { type: 'string' },
    conversations: { type: 'string' },
    data: { type: 'string' },
    audit: { type: 'string' },
    'no-ablations': { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  console.error(`bench:recall: ${message}`);
  process.exit(1);
}

if (!values.locomo) fail('pass the LoCoMo file with --locomo FILE (e.g. --locomo ../shared/data/locomo/locomo-dev.json)');
let conversations: LocomoConversation[];
try {
  conversations = loadLocomo(values.locomo);
} catch (err) {
  if (err instanceof LocomoFileError) fail(err.message);
  throw err;
}
if (values.conversations !== undefined) {
  const n = Number(values.conversations);
  if (!Number.isInteger(n) || n < 1) fail('--conversations must be a positive integer');
  conversations = conversations.slice(0, n);
}
const corrections = values.audit ? loadAudit(values.audit) : null;

// ---------------------------------------------------------------- ingest

const dataDir = values.data ?? tempDir('engram-recall-');
const fileHash = createHash('sha256').update(readFileSync(values.locomo)).digest('hex');
const marker = join(dataDir, 'locomo-ingest.json');
const wanted = { file: fileHash, conversations: conversations.map((c) => c.sampleId) };
const reuse = existsSync(marker) && JSON.stringify(JSON.parse(readFileSync(marker, 'utf8'))) === JSON.stringify(wanted);

const engine = await Engine.open(loadConfig(process.env, { dataDir, profile: 'embedded' }));
let ingestSeconds = 0;
let turns = 0;
for (const c of conversations) for (const s of c.sessions) turns += s.turns.length;
if (reuse) {
  console.log(`Reusing the ingested store in ${dataDir}.`);
} else {
  const bar = progressBar('ingest');
  const t0 = performance.now();
  let done = 0;
  bar.update(0, turns, 'turns');
  for (const c of conversations) {
    for (const wave of conversationEvents(c, TENANT)) {
      await engine.publish(wave);
      await engine.runUntilIdle();
      done += wave.length - 1;
      bar.update(done, turns, 'turns');
    }
  }
  bar.stop();
  ingestSeconds = (performance.now() - t0) / 1000;
  if (values.data) writeFileSync(marker, JSON.stringify(wanted));
}

// ---------------------------------------------------------------- search

/** Which stages a run switches off ('none' is the full pipeline). */
type RunName = 'full' | `no_${RetrievalStage}`;

interface RunResult {
  readonly scores: QuestionScore[];
  readonly audited: QuestionScore[];
  readonly latencies: number[];
}

const tokenCache = new Map<string, number>();
const tokensOf = (text: string): number => {
  let n = tokenCache.get(text);
  if (n === undefined) tokenCache.set(text, (n = countTokens(text)));
  return n;
};

function scoreBoth(q: LocomoQuestion, audited: LocomoQuestion, results: RankedResult[], run: RunResult): void {
  run.scores.push(scoreQuestion(q.category, q.evidence, results));
  run.audited.push(scoreQuestion(audited.category, audited.evidence, results));
}

async function searchRun(name: RunName, off: readonly RetrievalStage[]): Promise<RunResult> {
  const run: RunResult = { scores: [], audited: [], latencies: [] };
  const total = conversations.reduce((n, c) => n + c.questions.length, 0);
  const bar = progressBar(`search ${name}`);
  let done = 0;
  for (const c of conversations) {
    const scope = scopeOf(TENANT, userIdOf(c));
    const audited = corrections ? auditedQuestions(c, corrections) : c.questions;
    for (const [i, q] of c.questions.entries()) {
      const t0 = performance.now();
      const hits = await engine.search(scope, q.question, { k: K, recordAccess: false, disable: off });
      run.latencies.push(performance.now() - t0);
      const results = hits.map((h) => ({ sources: h.sources.map((s) => s.messageId), tokens: tokensOf(h.text) }));
      scoreBoth(q, audited[i] as LocomoQuestion, results, run);
      bar.update(++done, total, 'questions');
    }
  }
  bar.stop();
  return run;
}

function baselineRun(): RunResult {
  const run: RunResult = { scores: [], audited: [], latencies: [] };
  for (const c of conversations) {
    const index = new TurnBm25(
      c.sessions.flatMap((s) => s.turns.map((t) => ({ id: t.diaId, text: t.caption ? `${t.text} [image: ${t.caption}]` : t.text }))),
    );
    const texts = new Map(c.sessions.flatMap((s) => s.turns.map((t) => [t.diaId, `${t.speaker}: ${t.text}`] as const)));
    const audited = corrections ? auditedQuestions(c, corrections) : c.questions;
    for (const [i, q] of c.questions.entries()) {
      const t0 = performance.now();
      const ids = index.search(q.question, K);
      run.latencies.push(performance.now() - t0);
      scoreBoth(q, audited[i] as LocomoQuestion, ids.map((id) => ({ sources: [id], tokens: tokensOf(texts.get(id) ?? '') })), run);
    }
    index.close();
  }
  return run;
}

const full = await searchRun('full', []);
const baseline = baselineRun();
const ablations: Partial<Record<RunName, RunResult>> = {};
if (!values['no-ablations']) {
  for (const stage of RETRIEVAL_STAGES) ablations[`no_${stage}`] = await searchRun(`no_${stage}`, [stage]);
}
await engine.close();
if (!values.data) removeDir(dataDir);

// ---------------------------------------------------------------- report

const questions = full.scores.length;
const round = (x: number, d = 2): number => Number(x.toFixed(d));
const latency = (r: RunResult): { p50: number; p95: number } => ({ p50: round(percentile(r.latencies, 50)), p95: round(percentile(r.latencies, 95)) });
const summary = (r: RunResult) => ({ recall: recallTable(r.scores), recall_tokens: tokenRecall(r.scores), mrr: meanReciprocalRank(r.scores), latency_ms: latency(r) });

const result = {
  questions,
  skipped_no_evidence: conversations.reduce((n, c) => n + c.skipped, 0),
  conversations: conversations.length,
  turns,
  ingest_seconds: round(ingestSeconds, 1),
  ...summary(full),
  baseline_bm25: recallTable(baseline.scores),
  baseline_bm25_tokens: tokenRecall(baseline.scores),
  baseline_bm25_mrr: meanReciprocalRank(baseline.scores),
  ablations: Object.fromEntries(Object.entries(ablations).map(([k, r]) => [k, summary(r as RunResult)])),
  ...(corrections
    ? { audited: { recall: recallTable(full.audited), baseline_bm25: recallTable(baseline.audited), corrected_questions: corrections.size } }
    : {}),
};

const pct = (x: number | undefined): string => (x === undefined ? '' : (x * 100).toFixed(1));
function recallRows(table: RecallTable, label: string): Record<string, string>[] {
  return Object.entries(table).map(([group, byK]) => ({ run: label, group, '@1': pct(byK['1']), '@5': pct(byK['5']), '@10': pct(byK['10']), '@25': pct(byK['25']) }));
}

console.log(`\nLoCoMo evidence recall: ${conversations.length} conversations, ${turns} turns, ${questions} questions (categories 1-4; ${result.skipped_no_evidence} without evidence skipped).`);
if (!reuse) console.log(`Ingest: ${round(ingestSeconds, 1)} s (${round(turns / ingestSeconds, 1)} turns/s).`);
console.table([...recallRows(result.recall, 'engram'), ...recallRows(result.baseline_bm25, 'bm25 turns')]);
console.table([
  { run: 'engram', '≤1000 tok': pct(result.recall_tokens['1000']), '≤2000 tok': pct(result.recall_tokens['2000']), mrr: result.mrr.toFixed(3), 'p50 ms': result.latency_ms.p50, 'p95 ms': result.latency_ms.p95 },
  { run: 'bm25 turns', '≤1000 tok': pct(result.baseline_bm25_tokens['1000']), '≤2000 tok': pct(result.baseline_bm25_tokens['2000']), mrr: result.baseline_bm25_mrr.toFixed(3), 'p50 ms': latency(baseline).p50, 'p95 ms': latency(baseline).p95 },
]);
if (Object.keys(ablations).length > 0) {
  console.log('\nAblations: recall@5 / recall@10 per category with one stage off (Δ against the full pipeline, points)');
  const delta = (a: number | undefined, b: number | undefined): string => `${pct(a)} (${(((a ?? 0) - (b ?? 0)) * 100 >= 0 ? '+' : '') + (((a ?? 0) - (b ?? 0)) * 100).toFixed(1)})`;
  console.table(
    Object.entries(result.ablations).map(([name, s]) => ({
      run: name,
      ...Object.fromEntries(['all', 'cat1', 'cat2', 'cat3', 'cat4'].flatMap((g) => [[`${g} @5`, delta(s.recall[g]?.['5'], result.recall[g]?.['5'])], [`${g} @10`, delta(s.recall[g]?.['10'], result.recall[g]?.['10'])]])),
      'p95 ms': s.latency_ms.p95,
    })),
  );
}
if (result.audited) {
  console.log(`\nAgainst the audited evidence (${result.audited.corrected_questions} corrections):`);
  console.table([...recallRows(result.audited.recall, 'engram'), ...recallRows(result.audited.baseline_bm25, 'bm25 turns')]);
}
if (values.json) {
  writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`Wrote ${values.json}`);
}
