/**
 * Presentation of ops scores: the summary table (one column per run), the decision confusion
 * matrix, and failures grouped by kind with concrete examples (message text → expected vs
 * produced), for whoever improves the extractor next. Pure: strings and rows out.
 */
import type { ExpectedFact, OpsLabels } from './fixture.js';
import type { Observed, ProducedUnit } from './observe.js';
import type { DecisionColumn, OpsDetails, OpsScore, Prf } from './score.js';

/** One kind of failure, with how often it happened and examples. */
export interface FailureKind {
  readonly kind: string;
  readonly count: number;
  readonly examples: readonly string[];
}

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`;
}

function prfCells(p: Prf): [string, string, string] {
  return [
    `${pct(p.precision)} (${p.correct}/${p.produced})`,
    `${pct(p.recall)} (${p.found}/${p.expected})`,
    p.f1 === null ? 'n/a' : p.f1.toFixed(3),
  ];
}

/** Summary rows for console.table: one `measure` column, then one column per run. */
export function summaryRows(runs: Readonly<Record<string, OpsScore>>): Array<Record<string, string | number>> {
  const names = Object.keys(runs);
  const rows: Array<Record<string, string | number>> = [];
  const row = (measure: string, cell: (s: OpsScore) => string | number): void => {
    const r: Record<string, string | number> = { measure };
    for (const n of names) r[n] = cell(runs[n] as OpsScore);
    rows.push(r);
  };
  row('messages (user)', (s) => `${s.counts.messages} (${s.counts.userMessages})`);
  row('expected facts', (s) => s.counts.expectedFacts);
  row('produced fact units', (s) => s.counts.producedUnits);
  row('extraction precision, strict', (s) => prfCells(s.extraction.strict)[0]);
  row('extraction recall, strict', (s) => prfCells(s.extraction.strict)[1]);
  row('extraction F1, strict', (s) => prfCells(s.extraction.strict)[2]);
  row('extraction precision, lenient', (s) => prfCells(s.extraction.lenient)[0]);
  row('extraction recall, lenient', (s) => prfCells(s.extraction.lenient)[1]);
  row('extraction F1, lenient', (s) => prfCells(s.extraction.lenient)[2]);
  row('kind agreement (matched)', (s) => pct(s.extraction.kindAgreement));
  row('no-fact user turns with a fact', (s) => `${s.extraction.silentTurns.withFacts}/${s.extraction.silentTurns.turns}`);
  row('assistant turns with a fact', (s) => `${s.extraction.assistantTurns.withFacts}/${s.extraction.assistantTurns.turns}`);
  row('decision accuracy (all expected)', (s) => `${pct(s.decisions.accuracy)} (${s.decisions.correct}/${s.decisions.expected})`);
  row('decision accuracy (extracted)', (s) => pct(s.decisions.accuracyOnExtracted));
  for (const op of ['ADD', 'UPDATE', 'DELETE', 'NOOP'] as const) {
    row(`  ${op} accuracy (precision)`, (s) => {
      const o = s.decisions.perOp[op];
      return `${pct(o.accuracy)} (${o.correct}/${o.expected}); ${pct(o.precision)}`;
    });
  }
  row('decision targets right', (s) => `${s.decisions.targets.correct}/${s.decisions.targets.checked} (+${s.decisions.targets.unverifiable} unverifiable)`);
  row('conflict precision', (s) => prfCells(s.conflicts)[0]);
  row('conflict recall', (s) => prfCells(s.conflicts)[1]);
  row('restoration precision', (s) => prfCells(s.restorations)[0]);
  row('restoration recall', (s) => prfCells(s.restorations)[1]);
  row('date accuracy (matched)', (s) => `${pct(s.dates.accuracy)} (${s.dates.correct}/${s.dates.checked})`);
  row('date accuracy (all dated)', (s) => `${pct(s.dates.accuracyAll)} (${s.dates.correct}/${s.dates.expected})`);
  row('model calls by outcome', (s) => {
    const calls = Object.entries(s.counts.modelCalls.byOutcome).sort(([a], [b]) => (a < b ? -1 : 1));
    return calls.length === 0 ? 'none' : calls.map(([k, n]) => `${k} ${n}`).join(', ');
  });
  row('model tokens (prompt + completion)', (s) => s.counts.modelCalls.promptTokens + s.counts.modelCalls.completionTokens);
  return rows;
}

/** Confusion matrix rows for console.table (expected op × produced op). */
export function confusionRows(s: OpsScore): Array<Record<string, string | number>> {
  return Object.entries(s.decisions.confusion).map(([expected, cols]) => ({ expected, ...(cols as Record<DecisionColumn, number>) }));
}

/** Recall per case, for console.table. */
export function caseRows(runs: Readonly<Record<string, OpsScore>>): Array<Record<string, string>> {
  const cases = [...new Set(Object.values(runs).flatMap((s) => Object.keys(s.extraction.byCase)))].sort();
  return cases.map((c) => {
    const r: Record<string, string> = { case: c };
    for (const [name, s] of Object.entries(runs)) {
      const b = s.extraction.byCase[c];
      r[name] = b ? `${pct(b.recall)} (${b.found}/${b.expected})` : 'n/a';
    }
    return r;
  });
}

function claim(f: Pick<ExpectedFact, 'subject' | 'predicate' | 'object'>): string {
  return `(${f.subject} | ${f.predicate} | ${f.object})`;
}

function unitText(u: ProducedUnit): string {
  const what = u.triple ? claim(u.triple) : `"${u.text}"`;
  return `${u.op} ${u.kind} ${what}`;
}

/** Failures grouped by kind, most frequent first, with up to `examples` examples each. */
export function failureKinds(labels: OpsLabels, observed: Observed, details: OpsDetails, examples = 6): FailureKind[] {
  const textOfMessage = new Map(labels.messages.map((m) => [m.messageId, m.text]));
  const factById = new Map(labels.messages.flatMap((m) => m.facts.map((f) => [f.id, f] as const)));
  const unitsOf = new Map<string, ProducedUnit[]>();
  for (const u of observed.units) unitsOf.set(u.messageId, [...(unitsOf.get(u.messageId) ?? []), u]);
  const groups = new Map<string, string[]>();
  const add = (kind: string, example: string): void => {
    groups.set(kind, [...(groups.get(kind) ?? []), example]);
  };
  const said = (messageId: string): string => `"${textOfMessage.get(messageId) ?? messageId}"`;
  const memo = (id: string): string => `"${observed.textOf[id] ?? id}"`;

  for (const o of details.facts) {
    const f = o.fact;
    if (!o.unit) {
      const produced = (unitsOf.get(f.messageId) ?? []).map(unitText).join('; ') || 'nothing';
      add(`missed fact: ${o.diagnosis ?? 'unknown'}`, `${said(f.messageId)} → expected ${claim(f)}; produced ${produced}`);
      continue;
    }
    if (!o.opCorrect) {
      add(`wrong decision: expected ${f.op}, got ${o.decision}`, `${said(f.messageId)} → ${claim(f)}; produced ${unitText(o.unit)} (${o.unit.reason})`);
    } else if (o.targetCorrect === false) {
      add(`wrong target for ${f.op}`, `${said(f.messageId)} → expected target ${f.target}; produced ${memo(o.unit.memoryId)}`);
    }
    if (o.dateCorrect === false && o.unit.validFrom !== null) {
      add('wrong date', `${said(f.messageId)} → expected ${f.date}, produced ${new Date(o.unit.validFrom).toISOString().slice(0, 10)}`);
    }
  }
  for (const s of details.spurious) {
    add(`spurious fact (${s.turn} turn)`, `${said(s.unit.messageId)} → produced ${unitText(s.unit)}`);
  }
  for (const p of details.conflicts.expected) {
    if (p.found) continue;
    const old = factById.get(p.old);
    const by = factById.get(p.by);
    if (old && by) add('missed conflict', `${said(by.messageId)} → ${claim(by)} should close ${claim(old)}`);
  }
  for (const p of details.conflicts.produced) {
    if (!p.correct) add('wrong conflict', `${memo(p.by)} closed ${memo(p.memoryId)} (${p.reason})`);
  }
  for (const r of details.restorations.expected) {
    const f = factById.get(r.fact);
    if (!r.found && f) add('missed restoration', `${r.eventId} → ${claim(f)} should be restored`);
  }
  for (const r of details.restorations.produced) {
    if (!r.correct) add('wrong restoration', `${r.causationId} restored ${memo(r.memoryId)}`);
  }
  return [...groups.entries()]
    .map(([kind, all]) => ({ kind, count: all.length, examples: all.slice(0, examples) }))
    .sort((a, b) => b.count - a.count || (a.kind < b.kind ? -1 : 1));
}
