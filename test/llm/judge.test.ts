import test from 'ava';
import type { Memory } from '../../core/model.js';
import type { AssociatedCandidate, PlannedChange } from '../../core/pipeline.js';
import type { LlmClient, LlmRequest, MemoryState } from '../../core/ports.js';
import { consolidate, type Neighbour } from '../../activities/consolidate/consolidate.js';
import { factKeyOf } from '../../activities/consolidate/claims.js';
import { DEFAULT_FORGETTING, reinforcedStrength } from '../../activities/forget/retention.js';
import {
  ambiguousCases,
  applyConflictJudgements,
  applyConsolidationJudgements,
  conflictPairs,
  judgeKeysOf,
  needsConflictJudge,
  type ConsolidationJudgement,
} from '../../activities/llm/judge.js';
import { judgeConflicts, judgeConsolidations } from '../../activities/llm/stages.js';
import { candidateFixture, stateFixture, tri } from '../helpers/fixtures.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

const cand = (id: string, text: string, over: Partial<AssociatedCandidate> = {}): AssociatedCandidate =>
  candidateFixture(id, text, { validFrom: T0 + 10 * DAY, ...over });

function mem(id: string, text: string, over: Partial<Memory> & { version?: number } = {}): MemoryState {
  return stateFixture(id, text, T0, over);
}
const near = (state: MemoryState, similarity: number): Neighbour => ({ state, similarity });
const opsOf = (changes: readonly PlannedChange[]): string[] =>
  changes.map((c) => `${c.op}:${c.op === 'ADD' ? c.candidate.id : c.op === 'USAGE' ? c.usage.purpose : 'targetId' in c ? c.targetId : ''}`);

/** An LlmClient answering each request from a function, counting tokens as 10/2. */
function scripted(answer: (req: LlmRequest) => unknown): LlmClient & { requests: LlmRequest[] } {
  const requests: LlmRequest[] = [];
  return {
    model: 'judge-model',
    requests,
    complete: async (req) => {
      requests.push(req);
      return { content: JSON.stringify(answer(req)), model: 'judge-model', promptTokens: 10, completionTokens: 2 };
    },
  };
}

// ---------------------------------------------------------------- consolidation

const hiking = mem('m-hike', 'Caroline enjoys hiking in the mountains.', { kind: 'preference' });
const candHike = cand('c-hike', 'Caroline loves mountain hikes on weekends.', { kind: 'preference' });

test('only offline ADDs in the ambiguous band go to the judge, with the similar stored facts', (t) => {
  const far = cand('c-far', 'Caroline has a blue car.');
  const dup = cand('c-dup', 'Caroline enjoys hiking in the mountains!', { kind: 'preference' });
  const neighbours = { 'c-hike': [near(hiking, 0.83), near(mem('m-x', 'x'), 0.5)], 'c-far': [near(hiking, 0.4)], 'c-dup': [near(hiking, 0.95)] };
  const decided = consolidate([candHike, far], { neighbours, exactMatches: {} });
  t.deepEqual(opsOf(decided), ['ADD:c-hike', 'ADD:c-far']);
  const cases = ambiguousCases([candHike, far, dup], decided, neighbours);
  t.deepEqual(cases.map((k) => [k.candidateId, k.neighbours.map((n) => n.state.memory.id)]), [['c-hike', ['m-hike']]]);
});

test('NOOP and UPDATE replace the ADD; unknown targets and null answers keep the offline decision', (t) => {
  const neighbours = { 'c-hike': [near(hiking, 0.83)] };
  const decided = consolidate([candHike], { neighbours, exactMatches: {} });
  const cases = ambiguousCases([candHike], decided, neighbours);
  const apply = (answer: ConsolidationJudgement | null) => applyConsolidationJudgements(decided, [candHike], cases, { 'c-hike': answer });

  const noop = apply({ decision: 'NOOP', targetId: 'M1', reason: 'Same preference.' });
  t.deepEqual(opsOf(noop), ['NOOP:m-hike']);
  const n = noop[0] as Extract<PlannedChange, { op: 'NOOP' }>;
  t.is(n.strength, reinforcedStrength(hiking.memory.strength, DEFAULT_FORGETTING));
  t.is(n.causationId, candHike.sourceEventId);
  t.regex(n.reason, /Same preference\..*LLM judgement/);

  const update = apply({ decision: 'UPDATE', targetId: 'm-hike', reason: 'More detail.' });
  t.deepEqual(opsOf(update), ['UPDATE:m-hike']);
  const u = update[0] as Extract<PlannedChange, { op: 'UPDATE' }>;
  t.is(u.previousVersion, 1);
  t.deepEqual(u.candidate.sources.map((s) => s.messageId), ['msg-m-hike', 'msg-c-hike'], 'both messages support the refinement');

  t.deepEqual(opsOf(apply({ decision: 'NOOP', targetId: 'M7', reason: 'x' })), ['ADD:c-hike']);
  t.deepEqual(opsOf(apply({ decision: 'ADD', targetId: null, reason: 'new' })), ['ADD:c-hike']);
  t.deepEqual(opsOf(apply(null)), ['ADD:c-hike']);
});

test('a judged DELETE retires the target; a retraction the rules could not match can be resolved', (t) => {
  const vegan = mem('m-meat', 'Caroline loves steak.', { kind: 'preference' });
  const candVeg = cand('c-veg', 'Caroline stopped eating meat.', { kind: 'fact' });
  const retract = cand('c-ret', 'Caroline asks to forget what she said about steak.', { kind: 'fact', retraction: true });
  const neighbours = { 'c-veg': [near(vegan, 0.75)], 'c-ret': [near(vegan, 0.8)] };
  const decided = consolidate([candVeg, retract], { neighbours, exactMatches: {} });
  t.deepEqual(opsOf(decided), ['ADD:c-veg'], 'the retraction without a triple matched nothing offline');
  const cases = ambiguousCases([candVeg, retract], decided, neighbours);
  t.deepEqual(cases.map((k) => k.candidateId), ['c-veg', 'c-ret']);

  const out = applyConsolidationJudgements(decided, [candVeg, retract], cases, {
    'c-veg': { decision: 'DELETE', targetId: 'M1', reason: 'No longer eats meat.' },
    'c-ret': { decision: 'DELETE', targetId: 'M1', reason: 'Withdrawn.' },
  });
  t.deepEqual(opsOf(out), ['ADD:c-veg', 'DELETE:m-meat'], 'one judgement per target');
  const d = out[1] as Extract<PlannedChange, { op: 'DELETE' }>;
  t.is(d.validTo, candVeg.validFrom);
  t.is(d.previousVersion, 1);

  const onlyRetraction = applyConsolidationJudgements(decided, [candVeg, retract], cases, {
    'c-ret': { decision: 'DELETE', targetId: 'M1', reason: 'Withdrawn.' },
  });
  t.deepEqual(opsOf(onlyRetraction), ['ADD:c-veg', 'DELETE:m-meat']);
  t.is((onlyRetraction[1] as Extract<PlannedChange, { op: 'DELETE' }>).causationId, retract.sourceEventId);
});

test('the judge never turns a new value of an attribute into an UPDATE or NOOP', (t) => {
  const paris = mem('m-paris', 'Caroline lives in Paris.', { triple: tri('Caroline', 'lives_in', 'Paris') });
  const lyon = cand('c-lyon', 'Caroline lives in Lyon now.', { triple: tri('Caroline', 'lives_in', 'Lyon') });
  const neighbours = { 'c-lyon': [near(paris, 0.85)] };
  const decided: PlannedChange[] = [{ op: 'ADD', candidate: lyon, reason: 'new', comparedWith: ['m-paris'] }];
  const cases = ambiguousCases([lyon], decided, neighbours);
  for (const decision of ['UPDATE', 'NOOP'] as const) {
    const out = applyConsolidationJudgements(decided, [lyon], cases, { 'c-lyon': { decision, targetId: 'M1', reason: 'x' } });
    t.deepEqual(opsOf(out), ['ADD:c-lyon'], decision);
  }
});

test('memories other changes of the batch touch are not shown, and an ADD later changes refer to stays', (t) => {
  const other = mem('m-other', 'Caroline enjoys long hikes.', { kind: 'preference' });
  const neighbours = { 'c-hike': [near(hiking, 0.83), near(other, 0.8)] };
  const decided: PlannedChange[] = [
    { op: 'FORGET', targetId: 'm-hike', previousVersion: 1, reason: 'forget', causationId: 'x' },
    { op: 'ADD', candidate: candHike, reason: 'new', comparedWith: [] },
    { op: 'NOOP', targetId: 'c-hike', strength: 2, reason: 'dup', comparedWith: [], causationId: 'y' },
  ];
  const cases = ambiguousCases([candHike], decided, neighbours);
  t.deepEqual(cases[0]?.neighbours.map((n) => n.state.memory.id), ['m-other']);
  const out = applyConsolidationJudgements(decided, [candHike], cases, { 'c-hike': { decision: 'NOOP', targetId: 'M1', reason: 'x' } });
  t.deepEqual(opsOf(out), opsOf(decided));
});

test('judgeConsolidations asks once per ambiguous case and adds one USAGE change per call', async (t) => {
  const llm = scripted(() => ({ decision: 'NOOP', targetId: 'M1', reason: 'Already known.' }));
  const neighbours = { 'c-hike': [near(hiking, 0.83)] };
  const decided = consolidate([candHike], { neighbours, exactMatches: {} });
  const out = await judgeConsolidations(llm, [candHike], decided, neighbours, { forgetting: DEFAULT_FORGETTING });
  t.deepEqual(opsOf(out.changes), ['NOOP:m-hike']);
  t.deepEqual(opsOf(out.usage), ['USAGE:consolidation']);
  const usage = out.usage[0] as Extract<PlannedChange, { op: 'USAGE' }>;
  t.is(usage.usage.outcome, 'ok');
  t.is(usage.causationId, candHike.sourceEventId);
  t.is(llm.requests[0]?.schemaName, 'memory_consolidation');
  const prompt = llm.requests[0]?.messages[1]?.content ?? '';
  t.regex(prompt, /M1: \(preference, since 2024-01-01\) Caroline enjoys hiking in the mountains\./);
  t.regex(prompt, /C: \(preference, since 2024-01-11\) Caroline loves mountain hikes/);
});

// ---------------------------------------------------------------- conflicts

const car = mem('m-honda', 'Caroline drives a Honda.', { triple: tri('Caroline', 'drives', 'Honda'), validFrom: T0 });
const tesla = cand('c-tesla', 'Caroline drives a Tesla.', { triple: tri('Caroline', 'drives', 'Tesla') });

test('the conflict judge is only for predicates the offline table does not know', (t) => {
  t.true(needsConflictJudge('drives'));
  for (const p of ['lives_in', 'favourite_food', 'likes', 'dislikes', 'visited', 'has_sister', 'has_pet', 'plans']) t.false(needsConflictJudge(p), p);
  const changes: PlannedChange[] = [
    { op: 'ADD', candidate: tesla, reason: 'new', comparedWith: [] },
    { op: 'ADD', candidate: cand('c-l', 'x', { triple: tri('Caroline', 'lives_in', 'Rome') }), reason: 'new', comparedWith: [] },
  ];
  t.deepEqual(judgeKeysOf(changes), [factKeyOf('Caroline', 'drives')]);
});

test('a judged contradiction closes the older fact at the new fact’s validFrom', (t) => {
  const changes: PlannedChange[] = [{ op: 'ADD', candidate: tesla, reason: 'new', comparedWith: [] }];
  const facts = { [factKeyOf('Caroline', 'drives')]: [car, mem('m-same', 'Caroline drives a Tesla.', { triple: tri('Caroline', 'drives', 'the Tesla') })] };
  const pairs = conflictPairs(changes, facts);
  t.deepEqual(pairs.map((p) => [p.newer.id, p.older.id]), [['c-tesla', 'm-honda']], 'compatible values are not asked about');

  const out = applyConflictJudgements(changes, pairs, [{ contradicts: true, reason: 'One car at a time.' }]);
  t.deepEqual(opsOf(out), ['ADD:c-tesla', 'INVALIDATE:m-honda']);
  const inv = out[1] as Extract<PlannedChange, { op: 'INVALIDATE' }>;
  t.is(inv.validTo, tesla.validFrom);
  t.is(inv.invalidatedBy, 'c-tesla');
  t.is(inv.previousVersion, 1);
  t.regex(inv.reason, /drives changed from "Honda" to "Tesla".*One car at a time/);

  t.deepEqual(opsOf(applyConflictJudgements(changes, pairs, [{ contradicts: false, reason: 'Can own both.' }])), ['ADD:c-tesla']);
  t.deepEqual(opsOf(applyConflictJudgements(changes, pairs, [null])), ['ADD:c-tesla']);
});

test('an incoming fact older than the active one is historical: it is closed instead', (t) => {
  const old = cand('c-old', 'Caroline drove a Fiat.', { triple: tri('Caroline', 'drives', 'Fiat'), validFrom: T0 - 100 * DAY });
  const changes: PlannedChange[] = [{ op: 'ADD', candidate: old, reason: 'new', comparedWith: [] }];
  const pairs = conflictPairs(changes, { [factKeyOf('Caroline', 'drives')]: [car] });
  const out = applyConflictJudgements(changes, pairs, [{ contradicts: true, reason: 'x' }]);
  t.deepEqual(opsOf(out), ['ADD:c-old', 'INVALIDATE:c-old']);
  const inv = out[1] as Extract<PlannedChange, { op: 'INVALIDATE' }>;
  t.is(inv.validTo, car.memory.validFrom);
  t.is(inv.invalidatedBy, 'm-honda');
});

test('two new facts of one batch are compared, and facts other changes touch are left alone', (t) => {
  const first = cand('c-1', 'Caroline drives a Fiat.', { triple: tri('Caroline', 'drives', 'Fiat'), validFrom: T0 + DAY });
  const changes: PlannedChange[] = [
    { op: 'ADD', candidate: first, reason: 'new', comparedWith: [] },
    { op: 'INVALIDATE', targetId: 'm-honda', previousVersion: 1, validTo: T0, invalidatedBy: null, reason: 'x', causationId: 'x' },
    { op: 'ADD', candidate: tesla, reason: 'new', comparedWith: [] },
  ];
  const pairs = conflictPairs(changes, { [factKeyOf('Caroline', 'drives')]: [car] });
  t.deepEqual(pairs.map((p) => [p.newer.id, p.older.id]), [['c-tesla', 'c-1']]);
});

test('judgeConflicts asks per pair and records USAGE changes', async (t) => {
  const llm = scripted(() => ({ contradicts: true, reason: 'One car.' }));
  const changes: PlannedChange[] = [{ op: 'ADD', candidate: tesla, reason: 'new', comparedWith: [] }];
  const out = await judgeConflicts(llm, changes, { [factKeyOf('Caroline', 'drives')]: [car] });
  t.deepEqual(opsOf(out), ['ADD:c-tesla', 'INVALIDATE:m-honda', 'USAGE:conflict']);
  t.is(llm.requests[0]?.schemaName, 'fact_conflict');
  t.regex(llm.requests[0]?.messages[1]?.content ?? '', /Older fact: .*Honda.*\nNewer fact: .*Tesla/);
});
