/**
 * The LoCoMo answer-key audit (dial481/locomo-audit): for questions whose cited evidence is wrong,
 * the corrected evidence, so recall can be reported both ways.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LocomoFileError, normaliseEvidence, type LocomoConversation, type LocomoQuestion } from './locomo.js';

const AuditSchema = z.array(
  z.object({
    question_id: z.string(),
    cited_evidence: z.array(z.string()).default([]),
    correct_evidence: z.array(z.string()).default([]),
  }),
);

/** Corrected evidence by question id, only where it differs from the cited evidence. */
export function loadAudit(path: string): Map<string, string[]> {
  let parsed;
  try {
    parsed = AuditSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new LocomoFileError(`cannot read the audit file ${path}: ${(err as Error).message}`);
  }
  if (!parsed.success) throw new LocomoFileError(`${path} is not a LoCoMo audit file`);
  const out = new Map<string, string[]>();
  for (const row of parsed.data) {
    const cited = [...row.cited_evidence].sort().join(' ');
    const correct = [...row.correct_evidence].sort().join(' ');
    if (row.correct_evidence.length > 0 && cited !== correct) out.set(row.question_id, row.correct_evidence);
  }
  return out;
}

/** The conversation's questions with audited evidence substituted where the audit corrects it. */
export function auditedQuestions(conversation: LocomoConversation, corrections: ReadonlyMap<string, readonly string[]>): LocomoQuestion[] {
  const turnIds = new Set(conversation.sessions.flatMap((s) => s.turns.map((t) => t.diaId)));
  return conversation.questions.map((q) => {
    const fixed = corrections.get(q.id);
    if (!fixed) return q;
    const evidence = normaliseEvidence(fixed, turnIds);
    return evidence.length === 0 ? q : { ...q, evidence };
  });
}
