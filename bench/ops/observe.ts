/**
 * What the pipeline did, read from its memory events: per source message, the fact-level units it
 * produced (new or refined memories, reinforcements, retractions, quarantines), plus conflict
 * invalidations and restorations. Pure: memory events in, plain data out.
 */
import type { MemoryEvent, MemoryKind, Triple } from '../../core/model.js';
import type { OpsLabels } from './fixture.js';

/** Produced decision ops: the four consolidation ops, plus the guard holding a candidate back. */
export const PRODUCED_OPS = ['ADD', 'UPDATE', 'DELETE', 'NOOP', 'QUARANTINE'] as const;
export type ProducedOp = (typeof PRODUCED_OPS)[number];

/** One fact-level outcome of one message. */
export interface ProducedUnit {
  readonly messageId: string;
  readonly op: ProducedOp;
  /** The memory written (ADD, QUARANTINE), refined (UPDATE), reinforced (NOOP) or retracted (DELETE). */
  readonly memoryId: string;
  readonly kind: MemoryKind;
  /** For NOOP and DELETE: the triple of the memory they name (the candidate itself is not logged). */
  readonly triple: Triple | null;
  readonly text: string;
  /** World time of new content (ADD, UPDATE, QUARANTINE); null when the unit names an existing memory. */
  readonly validFrom: number | null;
  readonly reason: string;
}

/** A conflict invalidation: `memoryId` closed because of `by`. */
export interface ProducedInvalidation {
  readonly memoryId: string;
  readonly by: string;
  readonly causationId: string;
  readonly reason: string;
}

/** A memory brought back (after a redaction or edit). */
export interface ProducedRestoration {
  readonly memoryId: string;
  readonly causationId: string;
  readonly reason: string;
}

/** Everything the scorer compares with the labels. */
export interface Observed {
  readonly units: readonly ProducedUnit[];
  readonly invalidations: readonly ProducedInvalidation[];
  readonly restorations: readonly ProducedRestoration[];
  /** Memories closed because their source message was redacted (not scored, reported). */
  readonly retired: number;
  /** Memory text by id (for reports). */
  readonly textOf: Readonly<Record<string, string>>;
  /** Language-model calls recorded by the pipeline (`ModelCalled`), by outcome, with tokens. */
  readonly modelCalls: ModelCalls;
}

/** Language-model calls of a run. */
export interface ModelCalls {
  readonly byOutcome: Readonly<Record<string, number>>;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

const FACT_KINDS: ReadonlySet<MemoryKind> = new Set(['fact', 'preference', 'event']);

interface Known {
  readonly kind: MemoryKind;
  readonly granularity: string;
  readonly triple: Triple | null;
  readonly text: string;
}

/** Turns memory events (each user's in log order) into per-message units and lifecycle outcomes. */
export function observe(events: readonly MemoryEvent[], labels: OpsLabels): Observed {
  const messageOfEvent = new Map(labels.messages.map((m) => [m.eventId, m.messageId]));
  const known = new Map<string, Known>();
  const units: ProducedUnit[] = [];
  const invalidations: ProducedInvalidation[] = [];
  const restorations: ProducedRestoration[] = [];
  let retired = 0;
  const byOutcome: Record<string, number> = {};
  let promptTokens = 0;
  let completionTokens = 0;
  const isFactLevel = (k: Known | undefined): k is Known =>
    k !== undefined && k.granularity === 'fact' && FACT_KINDS.has(k.kind);

  for (const e of events) {
    const p = e.payload;
    const messageId = messageOfEvent.get(e.causationId);
    switch (p.type) {
      case 'MemoryAdded':
      case 'MemoryUpdated':
      case 'MemoryQuarantined': {
        const m = p.memory;
        const k: Known = { kind: m.kind, granularity: m.granularity, triple: m.triple, text: m.text };
        // A quarantined memory never becomes active: it is not known for later reinforcements.
        if (p.type !== 'MemoryQuarantined') known.set(m.id, k);
        if (messageId === undefined || !isFactLevel(k)) break;
        const op: ProducedOp = p.type === 'MemoryAdded' ? 'ADD' : p.type === 'MemoryUpdated' ? 'UPDATE' : 'QUARANTINE';
        const reason = p.type === 'MemoryQuarantined' ? p.reasons.join('; ') : p.decision.reason;
        units.push({ messageId, op, memoryId: m.id, kind: m.kind, triple: m.triple, text: m.text, validFrom: m.validFrom, reason });
        break;
      }
      case 'MemoryReinforced': {
        const k = known.get(p.memoryId);
        if (messageId === undefined || !isFactLevel(k)) break;
        units.push({ messageId, op: 'NOOP', memoryId: p.memoryId, kind: k.kind, triple: k.triple, text: k.text, validFrom: null, reason: p.reason });
        break;
      }
      case 'MemoryInvalidated': {
        if (p.invalidatedBy !== null) {
          invalidations.push({ memoryId: p.memoryId, by: p.invalidatedBy, causationId: e.causationId, reason: p.reason });
          break;
        }
        const k = known.get(p.memoryId);
        // Without a newer fact: a retraction when a posted message caused it, else a retirement.
        if (messageId === undefined) {
          if (isFactLevel(k)) retired++;
          break;
        }
        if (!isFactLevel(k)) break;
        units.push({ messageId, op: 'DELETE', memoryId: p.memoryId, kind: k.kind, triple: k.triple, text: k.text, validFrom: null, reason: p.reason });
        break;
      }
      case 'MemoryRestored':
        restorations.push({ memoryId: p.memoryId, causationId: e.causationId, reason: p.reason });
        break;
      case 'ModelCalled':
        byOutcome[p.outcome] = (byOutcome[p.outcome] ?? 0) + 1;
        promptTokens += p.promptTokens;
        completionTokens += p.completionTokens;
        break;
      default:
        break;
    }
  }
  const textOf: Record<string, string> = {};
  for (const [id, k] of known) textOf[id] = k.text;
  return { units, invalidations, restorations, retired, textOf, modelCalls: { byOutcome, promptTokens, completionTokens } };
}
