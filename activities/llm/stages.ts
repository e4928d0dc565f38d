/**
 * The LLM's part in the extract, consolidate and resolve-conflicts activities: the calls, with
 * their usage, around the pure cores (extraction.ts, judge.ts). Every call goes through
 * callStructured, so a failed or invalid answer leaves the offline result in place.
 */
import { memoryIdOf } from '../../core/ids.js';
import type { AssociatedCandidate, CandidateUnit, ModelUsage, PlannedChange } from '../../core/pipeline.js';
import type { LlmClient, MemoryState } from '../../core/ports.js';
import { scopeOf } from '../../core/scope.js';
import type { Neighbour } from '../consolidate/consolidate.js';
import type { ExtractInput, ExtractOutput } from '../extract/extract.js';
import { isEmpty, isLowInformation, isPhatic } from '../extract/information.js';
import type { ForgettingOptions } from '../forget/retention.js';
import { extractionRequest, ExtractionOutputSchema, llmFactUnits } from './extraction.js';
import {
  ambiguousCases,
  applyConflictJudgements,
  applyConsolidationJudgements,
  conflictPairs,
  conflictRequest,
  ConflictJudgementSchema,
  consolidationRequest,
  ConsolidationJudgementSchema,
  DEFAULT_CONSOLIDATION_BAND,
  type ConflictJudgement,
  type ConsolidationBand,
  type ConsolidationJudgement,
} from './judge.js';
import { callStructured } from './structured.js';

/** Model calls in flight at once for one batch (a local server serves few requests in parallel). */
export const LLM_CONCURRENCY = 4;

/** Runs the calls with bounded concurrency; results are in input order whatever the completion order. */
async function inOrder<I, R>(items: readonly I[], limit: number, fn: (item: I) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as I);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return out;
}

/**
 * Extraction with the model: for each posted or edited message whose episode survived the batch
 * and that is not low-information, the model's facts replace the offline extractor's facts of that
 * message; when the call falls back, the offline facts stay. Episodes and summaries stay offline.
 */
export async function extractWithLlm(llm: LlmClient, input: ExtractInput, offline: ExtractOutput): Promise<ExtractOutput> {
  const scope = scopeOf(input.tenantId, input.userId);
  const asks: { eventId: string; episode: CandidateUnit; text: string }[] = [];
  for (const pe of input.events) {
    const p = pe.event.payload;
    if (p.type !== 'MessagePosted' && p.type !== 'MessageEdited') continue;
    const episodeId = memoryIdOf(scope, pe.event.eventId, 'turn', 0);
    const episode = offline.candidates.find((c) => c.id === episodeId);
    if (!episode || isEmpty(p.text)) continue;
    const offlineFacts = offline.candidates.filter((c) => c.sourceEventId === pe.event.eventId && c.granularity === 'fact');
    // The offline rule for low-information turns ("ok", "haha"): an episode at most, no model call.
    if (isPhatic(p.text) || (isLowInformation(p.text) && offlineFacts.length === 0)) continue;
    asks.push({ eventId: pe.event.eventId, episode, text: p.text });
  }
  if (asks.length === 0) return offline;

  const results = await inOrder(asks, LLM_CONCURRENCY, (a) =>
    callStructured(
      llm,
      extractionRequest({ speaker: a.episode.speaker, role: a.episode.role, text: a.text, occurredAt: a.episode.validFrom }),
      ExtractionOutputSchema,
      'extraction',
    ),
  );
  const replaced = new Map<string, CandidateUnit[]>();
  asks.forEach((a, i) => {
    const r = results[i];
    if (!r || r.value === null) return;
    replaced.set(a.eventId, llmFactUnits(scope, a.episode, r.value, { model: r.usage.model, promptHash: r.usage.promptHash }));
  });
  const candidates: CandidateUnit[] = [];
  for (const c of offline.candidates) {
    const llmFacts = replaced.get(c.sourceEventId);
    if (!llmFacts) candidates.push(c);
    else if (c.granularity === 'turn') candidates.push(c, ...llmFacts);
    // else: an offline fact of a message the model answered for: dropped
  }
  return { ...offline, candidates, usage: [...(offline.usage ?? []), ...results.map((r) => r.usage)] };
}

/** USAGE changes for model calls made on behalf of a source event. */
function usageChanges(results: readonly { usage: ModelUsage }[], causes: readonly string[]): PlannedChange[] {
  return results.map((r, i) => ({ op: 'USAGE', usage: r.usage, causationId: causes[i] ?? '' }));
}

/**
 * Consolidation with the model: the ambiguous cases of the offline decisions go to the judge and
 * its answers are applied; returns the decisions and one USAGE change per call.
 */
export async function judgeConsolidations(
  llm: LlmClient,
  candidates: readonly AssociatedCandidate[],
  decided: readonly PlannedChange[],
  neighbours: Readonly<Record<string, readonly Neighbour[]>>,
  opts: { forgetting: ForgettingOptions; band?: ConsolidationBand },
): Promise<{ changes: PlannedChange[]; usage: PlannedChange[] }> {
  const cases = ambiguousCases(candidates, decided, neighbours, opts.band ?? DEFAULT_CONSOLIDATION_BAND);
  if (cases.length === 0) return { changes: [...decided], usage: [] };
  const byId = new Map(candidates.map((c) => [c.id, c]));
  const results = await inOrder(cases, LLM_CONCURRENCY, (k) => {
    const c = byId.get(k.candidateId) as AssociatedCandidate;
    const shown = k.neighbours.map((n) => n.state.memory);
    return callStructured(llm, consolidationRequest(c, shown), ConsolidationJudgementSchema, 'consolidation');
  });
  const answers: Record<string, ConsolidationJudgement | null> = {};
  cases.forEach((k, i) => {
    answers[k.candidateId] = results[i]?.value ?? null;
  });
  return {
    changes: applyConsolidationJudgements(decided, candidates, cases, answers, { forgetting: opts.forgetting }),
    usage: usageChanges(results, cases.map((k) => byId.get(k.candidateId)?.sourceEventId ?? '')),
  };
}

/**
 * Conflict resolution with the model, after the offline resolver: facts with predicates the
 * offline table does not know are compared with the active facts of the same subject and
 * predicate; contradictions close the older fact. `activeFacts` is keyed by factKeyOf.
 */
export async function judgeConflicts(
  llm: LlmClient,
  resolved: readonly PlannedChange[],
  activeFacts: Readonly<Record<string, readonly MemoryState[]>>,
): Promise<PlannedChange[]> {
  const pairs = conflictPairs(resolved, activeFacts);
  if (pairs.length === 0) return [...resolved];
  const results = await inOrder(pairs, LLM_CONCURRENCY, (p) =>
    callStructured(llm, conflictRequest(p.older, p.newer), ConflictJudgementSchema, 'conflict'),
  );
  const answers: (ConflictJudgement | null)[] = results.map((r) => r.value);
  return [...applyConflictJudgements(resolved, pairs, answers), ...usageChanges(results, pairs.map((p) => p.causationId))];
}
