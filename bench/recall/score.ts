/**
 * Evidence recall on LoCoMo, pure: for one question, which of its evidence turns appear among the
 * `sources` of the top-k results; the same within token budgets of returned text; the reciprocal
 * rank of the first result holding evidence; and the aggregation per category.
 */

/** The k values of recall@k. */
export const RECALL_KS = [1, 5, 10, 25] as const;
/** Token budgets of returned text. */
export const TOKEN_BUDGETS = [1000, 2000] as const;

/** One ranked result as the scorer sees it: the turns it cites and its size in tokens. */
export interface RankedResult {
  readonly sources: readonly string[];
  readonly tokens: number;
}

/** One question's figures. */
export interface QuestionScore {
  readonly category: number;
  /** recall@k by k. */
  readonly recall: Readonly<Record<number, number>>;
  /** Recall within each token budget. */
  readonly recallTokens: Readonly<Record<number, number>>;
  readonly reciprocalRank: number;
}

/** Fraction of `evidence` found among the sources of `results`. */
function coverage(results: readonly RankedResult[], evidence: readonly string[]): number {
  const found = new Set<string>();
  for (const r of results) for (const s of r.sources) found.add(s);
  return evidence.filter((e) => found.has(e)).length / evidence.length;
}

/** The longest prefix of `results` whose tokens fit in `budget` (a result is returned whole or not at all). */
function withinBudget(results: readonly RankedResult[], budget: number): RankedResult[] {
  const out: RankedResult[] = [];
  let used = 0;
  for (const r of results) {
    if (used + r.tokens > budget) break;
    used += r.tokens;
    out.push(r);
  }
  return out;
}

/** Scores one question's ranked results against its evidence turn ids. */
export function scoreQuestion(category: number, evidence: readonly string[], results: readonly RankedResult[]): QuestionScore {
  if (evidence.length === 0) throw new RangeError('a scored question needs evidence');
  const recall: Record<number, number> = {};
  for (const k of RECALL_KS) recall[k] = coverage(results.slice(0, k), evidence);
  const recallTokens: Record<number, number> = {};
  for (const b of TOKEN_BUDGETS) recallTokens[b] = coverage(withinBudget(results, b), evidence);
  const wanted = new Set(evidence);
  const first = results.findIndex((r) => r.sources.some((s) => wanted.has(s)));
  return { category, recall, recallTokens, reciprocalRank: first < 0 ? 0 : 1 / (first + 1) };
}

/** Mean recall@k per group: `all` and `cat1`..`cat4`; keys are the k values as strings. */
export type RecallTable = Record<string, Record<string, number>>;

const round = (x: number): number => Number(x.toFixed(4));
const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Mean recall@k over all questions and per category. */
export function recallTable(scores: readonly QuestionScore[]): RecallTable {
  const groups: [string, readonly QuestionScore[]][] = [
    ['all', scores],
    ...[1, 2, 3, 4].map((c): [string, QuestionScore[]] => [`cat${c}`, scores.filter((s) => s.category === c)]),
  ];
  return Object.fromEntries(
    groups.map(([name, group]) => [name, Object.fromEntries(RECALL_KS.map((k) => [String(k), round(mean(group.map((s) => s.recall[k] ?? 0)))]))]),
  );
}

/** Mean recall within each token budget, keyed by budget. */
export function tokenRecall(scores: readonly QuestionScore[]): Record<string, number> {
  return Object.fromEntries(TOKEN_BUDGETS.map((b) => [String(b), round(mean(scores.map((s) => s.recallTokens[b] ?? 0)))]));
}

/** Mean reciprocal rank. */
export function meanReciprocalRank(scores: readonly QuestionScore[]): number {
  return round(mean(scores.map((s) => s.reciprocalRank)));
}

/** The p-th percentile (nearest rank) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}
