/**
 * Language-model judgements for consolidation and conflict resolution, as prompts, schemas and
 * pure decision logic; the activity shell makes the calls and passes the answers in.
 *
 * Consolidation: the offline rules (activities/consolidate/consolidate.ts) decide first. Only
 * the ambiguous band goes to the model: a fact the rules would ADD whose closest stored fact is
 * similar but not a near duplicate, and a retraction the rules could not match to a fact. The
 * model answers ADD | UPDATE | NOOP | DELETE with a target among the memories it was shown.
 *
 * Conflicts: the offline table (core/predicates.ts) knows which predicates are functional and
 * which accumulate. For any other predicate, a new fact and an active fact about the same subject
 * with the same predicate and a different value are shown to the model, which says whether they
 * contradict; a contradiction closes the older fact exactly as resolve.ts does.
 *
 * Answers are applied conservatively: a judgement that would touch a memory another change of
 * the batch already touches, or that names a memory the model was not shown, is ignored and the
 * offline decision stands.
 */
import { z } from 'zod';
import type { MemoryKind, Triple } from '../../core/model.js';
import type { AssociatedCandidate, PlannedChange } from '../../core/pipeline.js';
import type { LlmRequest } from '../../core/ports.js';
import type { MemoryState } from '../../core/ports.js';
import { isFunctionalPredicate, OPPOSITE_PREDICATES } from '../../core/predicates.js';
import type { Neighbour } from '../consolidate/consolidate.js';
import { claimOf, compatibleObjects, factKeyOf, isoOf, quoteOf, sameSubjectPredicate } from '../consolidate/claims.js';
import { DEFAULT_FORGETTING, effectiveStrength, reinforcedStrength, type ForgettingOptions } from '../forget/retention.js';

// ---------------------------------------------------------------- what the model is shown

/** A memory as a judge prompt shows it. */
interface Shown {
  readonly text: string;
  readonly kind: MemoryKind;
  readonly triple: Triple | null;
  readonly validFrom: number;
}

function describe(label: string, m: Shown): string {
  const claim = m.triple ? ` [${claimOf(m.triple)}]` : '';
  return `${label}: (${m.kind}, since ${isoOf(m.validFrom).slice(0, 10)}) ${m.text}${claim}`;
}

// ---------------------------------------------------------------- consolidation

/** Name of the consolidation output schema. */
export const CONSOLIDATION_SCHEMA_NAME = 'memory_consolidation';

/** Instructions of the consolidation judge (part of its prompt hash). */
export const CONSOLIDATION_SYSTEM_PROMPT = [
  'You maintain the long-term memory of an assistant about a user. A new candidate memory arrives; compare it with the existing memories listed (labelled M1, M2, ...) and choose exactly one operation:',
  '- ADD: the candidate is new information; keep the existing memories as they are.',
  '- UPDATE: the candidate restates one existing memory with more or more precise detail about the same thing; it replaces that memory. targetId is that memory.',
  '- NOOP: the candidate says nothing an existing memory does not already say. targetId is that memory.',
  '- DELETE: the candidate withdraws or makes obsolete one existing memory (e.g. "no longer", "forget that", "stopped"); that memory is retired. targetId is that memory.',
  'A different value for the same attribute (another city, another job) is ADD, not UPDATE: the history of changes is kept elsewhere.',
  'targetId is the label of an existing memory (e.g. "M2"), or null for ADD. reason: one short sentence.',
  'Answer with the JSON object only.',
].join('\n');

/** JSON schema of a consolidation judgement. */
export const CONSOLIDATION_JSON_SCHEMA: Readonly<Record<string, unknown>> = {
  type: 'object',
  additionalProperties: false,
  required: ['decision', 'targetId', 'reason'],
  properties: {
    decision: { type: 'string', enum: ['ADD', 'UPDATE', 'NOOP', 'DELETE'] },
    targetId: { type: ['string', 'null'] },
    reason: { type: 'string' },
  },
};

/** Validates a consolidation judgement; a target is required for every decision but ADD. */
export const ConsolidationJudgementSchema = z
  .object({
    decision: z.enum(['ADD', 'UPDATE', 'NOOP', 'DELETE']),
    targetId: z.string().trim().min(1).nullable(),
    reason: z.string().trim().min(1).max(1000),
  })
  .refine((j) => j.decision === 'ADD' || j.targetId !== null, { message: 'targetId is required for UPDATE, NOOP and DELETE', path: ['targetId'] });
export type ConsolidationJudgement = z.infer<typeof ConsolidationJudgementSchema>;

/** The similarity band sent to the judge, and how much it is shown. */
export interface ConsolidationBand {
  /** Cosine from which a stored fact is similar enough to ask about. */
  readonly low: number;
  /** Cosine at which the offline near-duplicate rule is confident (its duplicateThreshold). */
  readonly high: number;
  /** Existing memories shown per candidate. */
  readonly maxNeighbours: number;
}

export const DEFAULT_CONSOLIDATION_BAND: Readonly<ConsolidationBand> = Object.freeze({ low: 0.7, high: 0.92, maxNeighbours: 5 });

/** One candidate the judge is asked about, with the stored memories it is shown (M1…). */
export interface AmbiguousCase {
  readonly candidateId: string;
  readonly neighbours: readonly Neighbour[];
}

/** Ids of memories that some change of the batch targets. */
function targetsOf(changes: readonly PlannedChange[]): Set<string> {
  const out = new Set<string>();
  for (const ch of changes) if ('targetId' in ch) out.add(ch.targetId);
  return out;
}

/**
 * The candidates for the judge: facts the offline rules ADD whose most similar stored fact is in
 * [low, high), and retractions that retracted nothing but resemble a stored fact (≥ low). Stored
 * memories that another change of the batch targets are not shown.
 */
export function ambiguousCases(
  candidates: readonly AssociatedCandidate[],
  decided: readonly PlannedChange[],
  neighbours: Readonly<Record<string, readonly Neighbour[]>>,
  band: ConsolidationBand = DEFAULT_CONSOLIDATION_BAND,
): AmbiguousCase[] {
  const touched = targetsOf(decided);
  const added = new Set(decided.flatMap((ch) => (ch.op === 'ADD' ? [ch.candidate.id] : [])));
  const deletedBy = new Set(decided.flatMap((ch) => (ch.op === 'DELETE' ? [ch.causationId] : [])));
  const out: AmbiguousCase[] = [];
  for (const c of candidates) {
    if (c.granularity !== 'fact') continue;
    const eligible = (neighbours[c.id] ?? [])
      .filter((n) => n.state.status === 'active' && n.state.memory.granularity === 'fact' && n.state.memory.id !== c.id)
      .filter((n) => !touched.has(n.state.memory.id) && !added.has(n.state.memory.id) && n.similarity >= band.low)
      .sort((a, b) => b.similarity - a.similarity);
    const best = eligible[0];
    if (!best) continue;
    const ask = c.retraction ? !deletedBy.has(c.sourceEventId) : added.has(c.id) && best.similarity < band.high;
    if (ask) out.push({ candidateId: c.id, neighbours: eligible.slice(0, band.maxNeighbours) });
  }
  return out;
}

/** The chat request asking what to do with one candidate. */
export function consolidationRequest(candidate: Shown & { readonly retraction: boolean }, shown: readonly Shown[]): LlmRequest {
  const existing = shown.map((m, i) => describe(`M${i + 1}`, m)).join('\n');
  return {
    messages: [
      { role: 'system', content: CONSOLIDATION_SYSTEM_PROMPT },
      {
        role: 'user',
        content: [
          'Existing memories:',
          existing,
          '',
          `Candidate${candidate.retraction ? ' (a retraction)' : ''}:`,
          describe('C', candidate),
        ].join('\n'),
      },
    ],
    schemaName: CONSOLIDATION_SCHEMA_NAME,
    schema: CONSOLIDATION_JSON_SCHEMA,
    maxTokens: 300,
  };
}

/** The shown memory a judgement names ("M2", or its real id), or null. */
function pickTarget(targetId: string | null, shown: readonly Neighbour[]): Neighbour | null {
  if (targetId === null) return null;
  const label = /^M(\d+)$/i.exec(targetId.trim());
  if (label) return shown[Number(label[1]) - 1] ?? null;
  return shown.find((n) => n.state.memory.id === targetId.trim()) ?? null;
}

/** Options of applyConsolidationJudgements. */
export interface ApplyConsolidationOptions {
  /** Forgetting curve: how a NOOP reinforces its target (as consolidate.ts does). */
  readonly forgetting: ForgettingOptions;
}

/**
 * The offline decisions with the judge's answers applied. ADD stays ADD; NOOP and UPDATE replace
 * the candidate's ADD; DELETE retires the target (after the candidate's ADD, which stays, or as the
 * retraction's only change). A null answer (the call fell back), an unknown target, a target used
 * by an earlier judgement, a candidate some later change refers to, or an UPDATE across kinds or
 * to a different value of the same attribute leaves the offline decision in place.
 */
export function applyConsolidationJudgements(
  decided: readonly PlannedChange[],
  candidates: readonly AssociatedCandidate[],
  cases: readonly AmbiguousCase[],
  answers: Readonly<Record<string, ConsolidationJudgement | null>>,
  opts: ApplyConsolidationOptions = { forgetting: DEFAULT_FORGETTING },
): PlannedChange[] {
  const byId = new Map(candidates.map((c) => [c.id, c]));
  const referenced = targetsOf(decided);
  const used = new Set<string>();
  /** Per candidate id: what replaces its ADD (or, for a retraction, what is appended). */
  const replacement = new Map<string, PlannedChange[]>();

  for (const k of cases) {
    const answer = answers[k.candidateId];
    const c = byId.get(k.candidateId);
    if (!answer || !c || answer.decision === 'ADD') continue;
    const n = pickTarget(answer.targetId, k.neighbours);
    if (!n || used.has(n.state.memory.id)) continue;
    const target = n.state;
    const t = target.memory;
    const comparedWith = [t.id, ...k.neighbours.map((x) => x.state.memory.id).filter((id) => id !== t.id)];
    const why = `${quoteOf(answer.reason, 160)} (LLM judgement)`;
    const addOf = decided.find((ch) => ch.op === 'ADD' && ch.candidate.id === c.id);

    if (answer.decision === 'DELETE') {
      const del: PlannedChange = {
        op: 'DELETE',
        targetId: t.id,
        previousVersion: target.version,
        validTo: Math.max(c.validFrom, t.validFrom),
        reason: `retracted: ${quoteOf(c.text)} withdraws ${quoteOf(t.text)}: ${why}`,
        comparedWith,
        causationId: c.sourceEventId,
      };
      used.add(t.id);
      replacement.set(c.id, addOf ? [addOf, del] : [del]);
      continue;
    }
    // NOOP and UPDATE replace the candidate's ADD: only when nothing else in the batch refers to it,
    // and never for a new value of one attribute (that is a conflict, kept with its history).
    if (!addOf || c.retraction || referenced.has(c.id)) continue;
    if (c.triple && t.triple && sameSubjectPredicate(c.triple, t.triple) && !compatibleObjects(c.triple.object, t.triple.object)) continue;
    if (answer.decision === 'NOOP') {
      used.add(t.id);
      replacement.set(c.id, [
        {
          op: 'NOOP',
          targetId: t.id,
          strength: reinforcedStrength(effectiveStrength(t.strength, target.accesses ?? 0, opts.forgetting), opts.forgetting),
          reason: `same information as ${t.id}: ${why}`,
          comparedWith,
          causationId: c.sourceEventId,
        },
      ]);
      continue;
    }
    // UPDATE: only within one kind of memory.
    if (t.kind !== c.kind || t.granularity !== c.granularity) continue;
    used.add(t.id);
    // A refinement keeps the provenance of the version it refines: both messages support it.
    const sources = [...t.sources, ...c.sources].filter(
      (src, i, all) => all.findIndex((o) => o.eventId === src.eventId && o.messageId === src.messageId) === i,
    );
    replacement.set(c.id, [
      {
        op: 'UPDATE',
        candidate: { ...c, sources },
        targetId: t.id,
        previousVersion: target.version,
        reason: `refines ${t.id} (${quoteOf(t.text)} → ${quoteOf(c.text)}): ${why}`,
        comparedWith,
      },
    ]);
  }

  const out: PlannedChange[] = [];
  const placed = new Set<string>();
  for (const ch of decided) {
    const r = ch.op === 'ADD' ? replacement.get(ch.candidate.id) : undefined;
    if (r && ch.op === 'ADD') {
      out.push(...r);
      placed.add(ch.candidate.id);
    } else out.push(ch);
  }
  // Retractions had no change of their own: their DELETE goes last, after every earlier change.
  for (const [id, r] of replacement) if (!placed.has(id)) out.push(...r);
  return out;
}

// ---------------------------------------------------------------- conflicts

/** Name of the conflict output schema. */
export const CONFLICT_SCHEMA_NAME = 'fact_conflict';

/** Instructions of the conflict judge (part of its prompt hash). */
export const CONFLICT_SYSTEM_PROMPT = [
  'You check a user\'s long-term memory for contradictions. Two facts about the same person and attribute are given: an older one and a newer one.',
  'They contradict when both cannot be true at the same time (the attribute holds one value at a time and the values differ, or one negates the other).',
  'They do not contradict when both can hold together (someone can own several things, like several foods, visit several places) or when one only adds detail to the other.',
  'Answer {"contradicts": true|false, "reason": "one short sentence"} as JSON only.',
].join('\n');

/** JSON schema of a conflict judgement. */
export const CONFLICT_JSON_SCHEMA: Readonly<Record<string, unknown>> = {
  type: 'object',
  additionalProperties: false,
  required: ['contradicts', 'reason'],
  properties: { contradicts: { type: 'boolean' }, reason: { type: 'string' } },
};

/** Validates a conflict judgement. */
export const ConflictJudgementSchema = z.object({
  contradicts: z.boolean(),
  reason: z.string().trim().min(1).max(1000),
});
export type ConflictJudgement = z.infer<typeof ConflictJudgementSchema>;

/** Predicates the offline table knows to accumulate values (the rest of the known vocabulary). */
const MULTI_VALUED: ReadonlySet<string> = new Set(['likes', 'dislikes', 'prefers', 'visited', 'plans', 'studies', 'lived_in', 'worked_at', 'from']);

/** True when the offline table does not know whether the predicate is functional: ask the judge. */
export function needsConflictJudge(predicate: string): boolean {
  if (isFunctionalPredicate(predicate) || MULTI_VALUED.has(predicate) || predicate.startsWith('has_')) return false;
  return !(predicate in OPPOSITE_PREDICATES) && !Object.values(OPPOSITE_PREDICATES).includes(predicate);
}

/** The `activeFacts` keys (factKeyOf) the conflict judge needs for these changes. */
export function judgeKeysOf(changes: readonly PlannedChange[]): string[] {
  const keys = new Set<string>();
  for (const ch of changes) {
    if ((ch.op !== 'ADD' && ch.op !== 'UPDATE') || !ch.candidate.triple || ch.candidate.granularity === 'turn') continue;
    const t = ch.candidate.triple;
    if (needsConflictJudge(t.predicate)) keys.add(factKeyOf(t.subject, t.predicate));
  }
  return [...keys];
}

/** A fact as the conflict judge sees it. */
export interface JudgedFact extends Shown {
  readonly id: string;
  readonly triple: Triple;
  /** The memory version the fact has before any invalidation here. */
  readonly version: number;
}

/** A new fact and an active fact the judge is asked about. */
export interface ConflictPair {
  readonly newer: JudgedFact;
  readonly older: JudgedFact;
  readonly causationId: string;
}

/** Options of conflictPairs. */
export interface ConflictPairOptions {
  /** Active facts compared with each new fact (the most recent in world time first). */
  readonly maxPerFact: number;
}

/**
 * The pairs to judge: each ADD/UPDATE fact with an unknown predicate against the active facts with
 * the same subject and predicate and an incompatible value, stored (`activeFacts`, keyed by
 * factKeyOf) or added earlier in the batch. Memories other changes of the batch touch are left out.
 */
export function conflictPairs(
  changes: readonly PlannedChange[],
  activeFacts: Readonly<Record<string, readonly MemoryState[]>>,
  opts: ConflictPairOptions = { maxPerFact: 3 },
): ConflictPair[] {
  const touched = targetsOf(changes.filter((ch) => ch.op !== 'UPDATE'));
  const updated = new Map<string, number>();
  for (const ch of changes) if (ch.op === 'UPDATE') updated.set(ch.targetId, (updated.get(ch.targetId) ?? 0) + 1);
  const earlier: JudgedFact[] = [];
  const out: ConflictPair[] = [];
  for (const ch of changes) {
    if (ch.op !== 'ADD' && ch.op !== 'UPDATE') continue;
    const c = ch.candidate;
    const t = c.triple;
    const id = ch.op === 'ADD' ? c.id : ch.targetId;
    if (!t || c.granularity === 'turn' || touched.has(id) || (updated.get(id) ?? 0) > 1) continue;
    const newer: JudgedFact = { id, text: c.text, kind: c.kind, triple: t, validFrom: c.validFrom, version: ch.op === 'ADD' ? 1 : ch.previousVersion + 1 };
    if (needsConflictJudge(t.predicate)) {
      const stored: JudgedFact[] = (activeFacts[factKeyOf(t.subject, t.predicate)] ?? []).flatMap((s) =>
        s.status === 'active' && s.memory.triple && s.memory.granularity !== 'turn'
          ? [{ id: s.memory.id, text: s.memory.text, kind: s.memory.kind, triple: s.memory.triple, validFrom: s.memory.validFrom, version: s.version }]
          : [],
      );
      const seen = new Set<string>();
      const rivals = [...earlier, ...stored]
        .filter((f) => {
          if (seen.has(f.id) || f.id === id || touched.has(f.id) || updated.has(f.id)) return false;
          seen.add(f.id);
          return sameSubjectPredicate(f.triple, t) && !compatibleObjects(f.triple.object, t.object);
        })
        .sort((a, b) => b.validFrom - a.validFrom || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .slice(0, opts.maxPerFact);
      for (const older of rivals) out.push({ newer, older, causationId: c.sourceEventId });
    }
    if (ch.op === 'ADD') earlier.push(newer);
  }
  return out;
}

/** The chat request asking whether two facts contradict. */
export function conflictRequest(older: Shown, newer: Shown): LlmRequest {
  return {
    messages: [
      { role: 'system', content: CONFLICT_SYSTEM_PROMPT },
      { role: 'user', content: [describe('Older fact', older), describe('Newer fact', newer)].join('\n') },
    ],
    schemaName: CONFLICT_SCHEMA_NAME,
    schema: CONFLICT_JSON_SCHEMA,
    maxTokens: 200,
  };
}

/**
 * The changes with an INVALIDATE after each new fact for every pair judged a contradiction. World
 * time decides the direction, as in resolve.ts: an active fact that is older is closed at the new
 * fact's validFrom; when the active fact is newer, the incoming fact is historical and is closed
 * at the active fact's validFrom instead. `answers` is parallel to `pairs` (null: no judgement).
 */
export function applyConflictJudgements(
  changes: readonly PlannedChange[],
  pairs: readonly ConflictPair[],
  answers: readonly (ConflictJudgement | null)[],
): PlannedChange[] {
  const after = new Map<string, PlannedChange[]>();
  const closed = new Set<string>();
  const historical = new Map<string, PlannedChange>();
  pairs.forEach((p, i) => {
    const a = answers[i];
    // A fact closed here (as an older rival, or as historical) has a new version: leave it be.
    if (!a || !a.contradicts || closed.has(p.newer.id) || historical.has(p.older.id)) return;
    const list = after.get(p.newer.id) ?? [];
    const why = `${quoteOf(a.reason, 160)} (LLM judgement)`;
    if (p.older.validFrom > p.newer.validFrom) {
      if (historical.has(p.newer.id)) return;
      historical.set(p.newer.id, {
        op: 'INVALIDATE',
        targetId: p.newer.id,
        previousVersion: p.newer.version,
        validTo: p.older.validFrom,
        invalidatedBy: p.older.id,
        reason: `historical: ${reasonOf(p.newer.triple, p.older.triple, p.older.validFrom)}: ${why}`,
        causationId: p.causationId,
      });
      return;
    }
    if (closed.has(p.older.id)) return;
    closed.add(p.older.id);
    list.push({
      op: 'INVALIDATE',
      targetId: p.older.id,
      previousVersion: p.older.version,
      validTo: p.newer.validFrom,
      invalidatedBy: p.newer.id,
      reason: `${reasonOf(p.older.triple, p.newer.triple, p.newer.validFrom)}: ${why}`,
      causationId: p.causationId,
    });
    after.set(p.newer.id, list);
  });
  for (const [id, ch] of historical) after.set(id, [...(after.get(id) ?? []), ch]);

  const out: PlannedChange[] = [];
  for (const ch of changes) {
    out.push(ch);
    if (ch.op !== 'ADD' && ch.op !== 'UPDATE') continue;
    const id = ch.op === 'ADD' ? ch.candidate.id : ch.targetId;
    const extra = after.get(id);
    if (extra) {
      out.push(...extra);
      after.delete(id);
    }
  }
  return out;
}

function reasonOf(older: Triple, newer: Triple, at: number): string {
  return `${newer.subject} ${newer.predicate} changed from ${quoteOf(older.object)} to ${quoteOf(newer.object)} on ${isoOf(at)}`;
}
