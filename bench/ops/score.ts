/**
 * The per-operation scorer (HaluMem's spirit: extraction, updating and conflict handling measured
 * separately). Pure: labels and observed outcomes in, figures and per-item details out.
 *
 * - Extraction: expected facts vs produced fact-level units of the same message (match.ts), strict
 *   and lenient precision/recall/F1. Retractions count as extracted claims (the unit names the
 *   retracted memory), reinforcements too (the unit names the memory they repeat).
 * - Decisions: for every expected fact, the op of the unit it was matched with (lenient matching),
 *   or "missed". Accuracy is the share of expected facts whose op is right; targets of
 *   UPDATE/NOOP/DELETE are checked separately.
 * - Conflicts: produced invalidations with a newer fact (`invalidatedBy`) vs the labels' pairs,
 *   compared through the memories the two facts were matched with.
 * - Restorations: restored memories vs the labels, with the redaction that caused them.
 * - Dates: the produced validFrom of dated facts, compared as precisely as the label gives it.
 *
 * Ratios whose denominator is zero are null ("n/a").
 */
import type { ExpectedFact, LabelledMessage, Op, OpsLabels } from './fixture.js';
import { OPS } from './fixture.js';
import { assign, canonicalPredicate, contentWords, wordsContained, type MatchLevel } from './match.js';
import type { ModelCalls, Observed, ProducedOp, ProducedUnit } from './observe.js';
import { PRODUCED_OPS } from './observe.js';

/** Precision, recall and F1 with their counts. */
export interface Prf {
  /** Produced items that are right. */
  readonly correct: number;
  readonly produced: number;
  /** Expected items that were found. */
  readonly found: number;
  readonly expected: number;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
}

/** A ratio, or null when the denominator is zero. */
export function ratio(num: number, den: number): number | null {
  return den === 0 ? null : num / den;
}

/** Precision/recall/F1 from counts (precision over produced items, recall over expected ones). */
export function prf(correct: number, produced: number, found: number, expected: number): Prf {
  const precision = ratio(correct, produced);
  const recall = ratio(found, expected);
  let f1: number | null = null;
  if (precision !== null && recall !== null) f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { correct, produced, found, expected, precision, recall, f1 };
}

export type DecisionColumn = ProducedOp | 'missed';
export type DecisionRow = Op | 'spurious';

/** How an expected fact fared. */
export interface FactOutcome {
  readonly fact: ExpectedFact;
  readonly unit: ProducedUnit | null;
  readonly level: MatchLevel | null;
  readonly decision: DecisionColumn;
  readonly opCorrect: boolean;
  /** For UPDATE/NOOP/DELETE with the right op: whether it named the right memory (null: not checkable). */
  readonly targetCorrect: boolean | null;
  /** For dated facts matched to new content: whether the date is right (null: not checkable). */
  readonly dateCorrect: boolean | null;
  /** For missed facts: what the closest produced unit of the message got wrong. */
  readonly diagnosis: string | null;
}

/** A produced unit that matched no expected fact. */
export interface SpuriousUnit {
  readonly unit: ProducedUnit;
  /** The message's role and kind: "assistant", "no-fact" (a user turn that states nothing), "with-facts". */
  readonly turn: 'assistant' | 'no-fact' | 'with-facts' | 'unlabelled';
}

export interface PairOutcome {
  readonly old: string;
  readonly by: string;
  readonly found: boolean;
}

export interface ProducedPairOutcome {
  readonly memoryId: string;
  readonly by: string;
  /** Expected fact ids the two memories were matched with (empty: a memory no label names). */
  readonly oldFacts: readonly string[];
  readonly byFacts: readonly string[];
  readonly correct: boolean;
  readonly reason: string;
}

export interface OpsScore {
  readonly counts: {
    readonly messages: number;
    readonly userMessages: number;
    readonly expectedFacts: number;
    readonly producedUnits: number;
    readonly redactions: number;
    readonly retired: number;
    readonly modelCalls: ModelCalls;
  };
  readonly extraction: {
    readonly strict: Prf;
    readonly lenient: Prf;
    /** Matched facts whose produced kind (fact/preference/event) is the labelled one. */
    readonly kindAgreement: number | null;
    /** Per case: expected facts and how many were found (lenient). */
    readonly byCase: Readonly<Record<string, { expected: number; found: number; recall: number | null }>>;
    /** User turns with no expected fact, and how many produced at least one unit anyway. */
    readonly silentTurns: { readonly turns: number; readonly withFacts: number };
    /** Assistant turns, and how many produced at least one unit. */
    readonly assistantTurns: { readonly turns: number; readonly withFacts: number };
  };
  readonly decisions: {
    readonly expected: number;
    readonly correct: number;
    readonly accuracy: number | null;
    /** Accuracy over expected facts that were extracted (so extraction misses do not count). */
    readonly accuracyOnExtracted: number | null;
    readonly perOp: Readonly<Record<Op, { expected: number; correct: number; accuracy: number | null; predicted: number; precision: number | null }>>;
    /** Rows: expected op (or "spurious" for unmatched units); columns: produced op or "missed". */
    readonly confusion: Readonly<Record<DecisionRow, Readonly<Record<DecisionColumn, number>>>>;
    readonly targets: { readonly checked: number; readonly correct: number; readonly unverifiable: number };
  };
  readonly conflicts: Prf;
  readonly restorations: Prf;
  readonly dates: {
    readonly expected: number;
    readonly checked: number;
    readonly correct: number;
    /** Over dated facts matched to new content. */
    readonly accuracy: number | null;
    /** Over every dated fact (misses count as wrong). */
    readonly accuracyAll: number | null;
  };
}

export interface OpsDetails {
  readonly facts: readonly FactOutcome[];
  readonly spurious: readonly SpuriousUnit[];
  readonly conflicts: { readonly expected: readonly PairOutcome[]; readonly produced: readonly ProducedPairOutcome[] };
  readonly restorations: {
    readonly expected: ReadonlyArray<{ fact: string; eventId: string; found: boolean }>;
    readonly produced: ReadonlyArray<{ memoryId: string; causationId: string; facts: readonly string[]; correct: boolean }>;
  };
}

/** What the closest unit of a message got wrong for a missed fact. */
function diagnose(f: ExpectedFact, units: readonly ProducedUnit[]): string {
  if (units.length === 0) return 'nothing extracted from the message';
  const triples = units.flatMap((u) => (u.triple ? [u.triple] : []));
  const subjectOk = (s: string): boolean => wordsContained(s, f.subject);
  const predicateOk = (p: string): boolean => canonicalPredicate(p) === canonicalPredicate(f.predicate);
  const objectOk = (o: string): boolean => wordsContained(o, f.object);
  if (triples.some((t) => subjectOk(t.subject) && predicateOk(t.predicate))) return 'object differs';
  if (triples.some((t) => subjectOk(t.subject) && objectOk(t.object))) return 'predicate differs';
  if (triples.some((t) => predicateOk(t.predicate) && objectOk(t.object))) return 'subject differs';
  // A text-only unit that names the object but not the subject (a pronoun, an ellipsis).
  const textHasObject = (u: ProducedUnit): boolean => {
    const words = new Set(contentWords(u.text));
    const object = contentWords(f.object);
    return object.length > 0 && object.every((w) => words.has(w));
  };
  if (units.some((u) => u.triple === null && textHasObject(u))) return 'text-only memory without the subject';
  return 'only other facts extracted';
}

function emptyRow(): Record<DecisionColumn, number> {
  const row = {} as Record<DecisionColumn, number>;
  for (const c of [...PRODUCED_OPS, 'missed' as const]) row[c] = 0;
  return row;
}

/** Scores one run against the labels. */
export function score(labels: OpsLabels, observed: Observed): { score: OpsScore; details: OpsDetails } {
  const byMessage = new Map<string, ProducedUnit[]>();
  for (const u of observed.units) {
    const list = byMessage.get(u.messageId) ?? [];
    list.push(u);
    byMessage.set(u.messageId, list);
  }
  const labelled = new Map<string, LabelledMessage>(labels.messages.map((m) => [m.messageId, m]));

  const outcomes: FactOutcome[] = [];
  const spurious: SpuriousUnit[] = [];
  let strictPairs = 0;
  const silentTurns = { turns: 0, withFacts: 0 };
  const assistantTurns = { turns: 0, withFacts: 0 };
  /** Expected fact id → memory its unit names. */
  const memoryOf = new Map<string, string>();
  /** Memory id → expected fact ids matched with it. */
  const factsOf = new Map<string, string[]>();

  for (const m of labels.messages) {
    const units = byMessage.get(m.messageId) ?? [];
    if (m.role === 'assistant') {
      assistantTurns.turns++;
      if (units.length > 0) assistantTurns.withFacts++;
    } else if (m.facts.length === 0) {
      silentTurns.turns++;
      if (units.length > 0) silentTurns.withFacts++;
    }
    const { pairs, spurious: extra } = assign(m.facts, units);
    const turn: SpuriousUnit['turn'] = m.role === 'assistant' ? 'assistant' : m.facts.length === 0 ? 'no-fact' : 'with-facts';
    for (const u of extra) spurious.push({ unit: u, turn });
    const pairOf = new Map(pairs.map((p) => [p.expected.id, p]));
    for (const f of m.facts) {
      const p = pairOf.get(f.id);
      if (p) {
        if (p.level === 'strict') strictPairs++;
        memoryOf.set(f.id, p.produced.memoryId);
        factsOf.set(p.produced.memoryId, [...(factsOf.get(p.produced.memoryId) ?? []), f.id]);
      }
    }
    for (const f of m.facts) {
      const p = pairOf.get(f.id);
      const unit = p?.produced ?? null;
      const decision: DecisionColumn = unit ? unit.op : 'missed';
      const opCorrect = decision === f.op;
      let targetCorrect: boolean | null = null;
      if (opCorrect && f.target !== null && unit) {
        const want = memoryOf.get(f.target);
        targetCorrect = want === undefined ? null : want === unit.memoryId;
      }
      let dateCorrect: boolean | null = null;
      if (f.date !== null && unit && unit.validFrom !== null) {
        dateCorrect = new Date(unit.validFrom).toISOString().startsWith(f.date);
      }
      outcomes.push({
        fact: f,
        unit,
        level: p?.level ?? null,
        decision,
        opCorrect,
        targetCorrect,
        dateCorrect,
        diagnosis: unit ? null : diagnose(f, units),
      });
    }
  }
  // Units of messages the labels do not know (none with a consistent fixture): spurious too.
  for (const [messageId, units] of byMessage) {
    if (!labelled.has(messageId)) for (const u of units) spurious.push({ unit: u, turn: 'unlabelled' });
  }

  const expectedFacts = outcomes.length;
  const matched = outcomes.filter((o) => o.unit !== null);
  const producedUnits = observed.units.length;

  const byCase: Record<string, { expected: number; found: number; recall: number | null }> = {};
  for (const o of outcomes) {
    const m = labelled.get(o.fact.messageId);
    for (const c of new Set([...o.fact.cases, ...(m?.cases ?? [])])) {
      const row = byCase[c] ?? { expected: 0, found: 0, recall: null };
      row.expected++;
      if (o.unit) row.found++;
      byCase[c] = row;
    }
  }
  for (const row of Object.values(byCase)) row.recall = ratio(row.found, row.expected);

  const confusion = {} as Record<DecisionRow, Record<DecisionColumn, number>>;
  for (const r of [...OPS, 'spurious' as const]) confusion[r] = emptyRow();
  for (const o of outcomes) confusion[o.fact.op][o.decision]++;
  for (const s of spurious) confusion.spurious[s.unit.op]++;
  const perOp = {} as Record<Op, { expected: number; correct: number; accuracy: number | null; predicted: number; precision: number | null }>;
  for (const op of OPS) {
    const rows = outcomes.filter((o) => o.fact.op === op);
    const correct = rows.filter((o) => o.opCorrect).length;
    const predicted = matched.filter((o) => o.decision === op).length;
    perOp[op] = { expected: rows.length, correct, accuracy: ratio(correct, rows.length), predicted, precision: ratio(correct, predicted) };
  }
  const correctOps = outcomes.filter((o) => o.opCorrect).length;
  const targetRows = outcomes.filter((o) => o.opCorrect && o.fact.target !== null);

  // Conflicts, through the memories the facts were matched with.
  const expectedPairs = outcomes.flatMap((o) => o.fact.invalidates.map((old) => ({ old, by: o.fact.id })));
  const producedPairs: ProducedPairOutcome[] = observed.invalidations.map((inv) => {
    const oldFacts = factsOf.get(inv.memoryId) ?? [];
    const byFacts = factsOf.get(inv.by) ?? [];
    const correct = expectedPairs.some((e) => oldFacts.includes(e.old) && byFacts.includes(e.by));
    return { memoryId: inv.memoryId, by: inv.by, oldFacts, byFacts, correct, reason: inv.reason };
  });
  const pairOutcomes: PairOutcome[] = expectedPairs.map((e) => ({
    ...e,
    found: observed.invalidations.some((inv) => memoryOf.get(e.old) === inv.memoryId && memoryOf.get(e.by) === inv.by),
  }));

  const expectedRestores = labels.redactions.flatMap((r) => r.restores.map((fact) => ({ fact, eventId: r.eventId })));
  const producedRestores = observed.restorations.map((r) => {
    const facts = factsOf.get(r.memoryId) ?? [];
    const correct = expectedRestores.some((e) => e.eventId === r.causationId && facts.includes(e.fact));
    return { memoryId: r.memoryId, causationId: r.causationId, facts, correct };
  });
  const restoreOutcomes = expectedRestores.map((e) => ({
    ...e,
    found: observed.restorations.some((r) => r.causationId === e.eventId && memoryOf.get(e.fact) === r.memoryId),
  }));

  const dated = outcomes.filter((o) => o.fact.date !== null);
  const datesChecked = dated.filter((o) => o.dateCorrect !== null);
  const datesCorrect = dated.filter((o) => o.dateCorrect === true).length;
  const kindChecked = matched.length;
  const kindSame = matched.filter((o) => o.unit?.kind === o.fact.kind).length;

  return {
    score: {
      counts: {
        messages: labels.messages.length,
        userMessages: labels.messages.filter((m) => m.role === 'user').length,
        expectedFacts,
        producedUnits,
        redactions: labels.redactions.length,
        retired: observed.retired,
        modelCalls: observed.modelCalls,
      },
      extraction: {
        strict: prf(strictPairs, producedUnits, strictPairs, expectedFacts),
        lenient: prf(matched.length, producedUnits, matched.length, expectedFacts),
        kindAgreement: ratio(kindSame, kindChecked),
        byCase,
        silentTurns,
        assistantTurns,
      },
      decisions: {
        expected: expectedFacts,
        correct: correctOps,
        accuracy: ratio(correctOps, expectedFacts),
        accuracyOnExtracted: ratio(matched.filter((o) => o.opCorrect).length, matched.length),
        perOp,
        confusion,
        targets: {
          checked: targetRows.filter((o) => o.targetCorrect !== null).length,
          correct: targetRows.filter((o) => o.targetCorrect === true).length,
          unverifiable: targetRows.filter((o) => o.targetCorrect === null).length,
        },
      },
      conflicts: prf(
        producedPairs.filter((p) => p.correct).length,
        producedPairs.length,
        pairOutcomes.filter((p) => p.found).length,
        pairOutcomes.length,
      ),
      restorations: prf(
        producedRestores.filter((r) => r.correct).length,
        producedRestores.length,
        restoreOutcomes.filter((r) => r.found).length,
        restoreOutcomes.length,
      ),
      dates: {
        expected: dated.length,
        checked: datesChecked.length,
        correct: datesCorrect,
        accuracy: ratio(datesCorrect, datesChecked.length),
        accuracyAll: ratio(datesCorrect, dated.length),
      },
    },
    details: {
      facts: outcomes,
      spurious,
      conflicts: { expected: pairOutcomes, produced: producedPairs },
      restorations: { expected: restoreOutcomes, produced: producedRestores },
    },
  };
}
