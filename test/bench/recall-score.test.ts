import test from 'ava';
import {
  meanReciprocalRank,
  percentile,
  RECALL_KS,
  recallTable,
  scoreQuestion,
  TOKEN_BUDGETS,
  tokenRecall,
  type QuestionScore,
  type RankedResult,
} from '../../bench/recall/score.js';

const r = (sources: readonly string[], tokens = 10): RankedResult => ({ sources, tokens });
/** `n` results citing nothing useful, each `tokens` long. */
const noise = (n: number, tokens = 10): RankedResult[] => Array.from({ length: n }, (_, i) => r([`X${i}`], tokens));

test('the k values and budgets are the reported ones', (t) => {
  t.deepEqual([...RECALL_KS], [1, 5, 10, 25]);
  t.deepEqual([...TOKEN_BUDGETS], [1000, 2000]);
});

test('recall@k counts evidence over the union of sources of the top k', (t) => {
  // Evidence A at rank 1, B at rank 4 (inside a multi-source result), C at rank 8, D at rank 20, E nowhere.
  const results = [r(['A']), ...noise(2), r(['Z', 'B']), ...noise(3), r(['C', 'A']), ...noise(11), r(['D']), ...noise(10)];
  const s = scoreQuestion(1, ['A', 'B', 'C', 'D', 'E'], results);
  t.deepEqual(s.recall, { 1: 0.2, 5: 0.4, 10: 0.6, 25: 0.8 });
  t.is(s.category, 1);
});

test('evidence cited by several results counts once', (t) => {
  const s = scoreQuestion(2, ['A', 'B'], [r(['A']), r(['A']), r(['A', 'A'])]);
  t.is(s.recall[1], 0.5);
  t.is(s.recall[25], 0.5);
});

test('partial evidence gives the found fraction; fewer results than k are fine', (t) => {
  const s = scoreQuestion(3, ['A', 'B', 'C'], [r(['B']), r(['Q'])]);
  t.is(s.recall[1], 1 / 3);
  t.is(s.recall[5], 1 / 3);
  t.is(s.recall[25], 1 / 3);
  const none = scoreQuestion(3, ['A'], []);
  t.deepEqual(none.recall, { 1: 0, 5: 0, 10: 0, 25: 0 });
  t.deepEqual(none.recallTokens, { 1000: 0, 2000: 0 });
  t.is(none.reciprocalRank, 0);
});

test('the token budget stops at the first result that would cross it', (t) => {
  // 600 + 500 crosses 1000: the second result and everything after it are out, even the small third.
  const results = [r(['A'], 600), r(['B'], 500), r(['C'], 10)];
  const s = scoreQuestion(1, ['A', 'B', 'C'], results);
  t.is(s.recallTokens[1000], 1 / 3);
  t.is(s.recallTokens[2000], 1);
});

test('a result exactly filling the budget is in; a first result over it leaves nothing', (t) => {
  const exact = scoreQuestion(1, ['A', 'B'], [r(['A'], 400), r(['B'], 600)]);
  t.is(exact.recallTokens[1000], 1);
  const huge = scoreQuestion(1, ['A'], [r(['A'], 1001), r(['A'], 1)]);
  t.is(huge.recallTokens[1000], 0);
  t.is(huge.recallTokens[2000], 1);
  // recall@k ignores tokens.
  t.is(huge.recall[1], 1);
});

test('reciprocal rank is that of the first result holding any evidence', (t) => {
  t.is(scoreQuestion(1, ['A', 'B'], [r(['X']), r(['Y']), r(['Q', 'B']), r(['A'])]).reciprocalRank, 1 / 3);
  t.is(scoreQuestion(1, ['A'], [r(['A'])]).reciprocalRank, 1);
  t.is(scoreQuestion(1, ['A'], [r(['X']), r(['Y'])]).reciprocalRank, 0);
  // Past the largest k still counts.
  t.is(scoreQuestion(1, ['A'], [...noise(29), r(['A'])]).reciprocalRank, 1 / 30);
});

test('a question without evidence throws RangeError', (t) => {
  t.throws(() => scoreQuestion(1, [], [r(['A'])]), { instanceOf: RangeError });
});

const score = (category: number, recall: [number, number, number, number], rr = 0, tokens: [number, number] = [0, 0]): QuestionScore => ({
  category,
  recall: { 1: recall[0], 5: recall[1], 10: recall[2], 25: recall[3] },
  recallTokens: { 1000: tokens[0], 2000: tokens[1] },
  reciprocalRank: rr,
});

test('recallTable averages recall@k over all questions and per category', (t) => {
  const table = recallTable([score(1, [1, 1, 1, 1]), score(1, [0, 0.5, 0.5, 1]), score(2, [0, 0, 0, 1 / 3]), score(4, [0.25, 0.5, 0.75, 1])]);
  t.deepEqual(Object.keys(table), ['all', 'cat1', 'cat2', 'cat3', 'cat4']);
  for (const row of Object.values(table)) t.deepEqual(Object.keys(row), ['1', '5', '10', '25']);
  t.deepEqual(table.cat1, { 1: 0.5, 5: 0.75, 10: 0.75, 25: 1 });
  t.deepEqual(table.cat2, { 1: 0, 5: 0, 10: 0, 25: 0.3333 });
  t.deepEqual(table.cat3, { 1: 0, 5: 0, 10: 0, 25: 0 });
  t.deepEqual(table.cat4, { 1: 0.25, 5: 0.5, 10: 0.75, 25: 1 });
  t.deepEqual(table.all, { 1: 0.3125, 5: 0.5, 10: 0.5625, 25: 0.8333 });
});

test('recallTable of no questions is all zeros', (t) => {
  const table = recallTable([]);
  t.deepEqual(table.all, { 1: 0, 5: 0, 10: 0, 25: 0 });
  t.deepEqual(table.cat4, { 1: 0, 5: 0, 10: 0, 25: 0 });
});

test('recallTable counts other categories in "all" only', (t) => {
  const table = recallTable([score(1, [1, 1, 1, 1]), score(5, [0, 0, 0, 0])]);
  t.is(table.all?.['1'], 0.5);
  t.is(table.cat1?.['1'], 1);
  t.false('cat5' in table);
});

test('tokenRecall and meanReciprocalRank average and round to 4 places', (t) => {
  const scores = [score(1, [0, 0, 0, 0], 1, [1, 1]), score(2, [0, 0, 0, 0], 1 / 3, [0, 0.5]), score(3, [0, 0, 0, 0], 0, [0, 0])];
  t.deepEqual(tokenRecall(scores), { 1000: 0.3333, 2000: 0.5 });
  t.is(meanReciprocalRank(scores), 0.4444);
  t.is(meanReciprocalRank([]), 0);
  t.deepEqual(tokenRecall([]), { 1000: 0, 2000: 0 });
});

test('scores computed end to end feed the table', (t) => {
  const scores = [scoreQuestion(1, ['A'], [r(['A'])]), scoreQuestion(1, ['A'], [...noise(5), r(['A'])])];
  t.deepEqual(recallTable(scores).cat1, { 1: 0.5, 5: 0.5, 10: 1, 25: 1 });
  t.is(meanReciprocalRank(scores), Number(((1 + 1 / 6) / 2).toFixed(4)));
});

test('percentile is nearest-rank', (t) => {
  const values = [35, 15, 50, 40, 20];
  t.is(percentile(values, 5), 15);
  t.is(percentile(values, 30), 20);
  t.is(percentile(values, 40), 20);
  t.is(percentile(values, 50), 35);
  t.is(percentile(values, 95), 50);
  t.is(percentile(values, 100), 50);
  t.is(percentile(values, 0), 15);
  // The input is not reordered.
  t.deepEqual(values, [35, 15, 50, 40, 20]);
});

test('percentile sorts numerically and handles empty and single lists', (t) => {
  const values = [100, 9, 20, 3];
  t.is(percentile(values, 50), 9);
  t.is(percentile(values, 75), 20);
  t.is(percentile(values, 99), 100);
  t.is(percentile([], 50), 0);
  t.is(percentile([7], 1), 7);
  t.is(percentile([7], 100), 7);
});
