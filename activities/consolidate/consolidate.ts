/**
 * Consolidation (Mem0; Memory-R1's ADD / UPDATE / DELETE / NOOP): each candidate is compared with
 * the user's most similar active memories, and with the candidates before it in the same batch,
 * and one explicit decision is recorded with its reason and the ids it was compared with.
 *
 * Rules, in the order they are tried:
 * 1. episodes (turn granularity) are only ever ADD, or NOOP for an exact duplicate;
 * 2. a retraction becomes one DELETE per active fact it retracts; a retraction that matches
 *    nothing (or has no triple) emits no change at all, because a NOOP needs a target;
 * 3. an exact duplicate (same text hash, same kind) is a NOOP reinforcing the existing memory;
 * 4. a fact with the same subject and predicate, same kind, and the same object or one that
 *    refines the old object is an UPDATE when its text is more specific, else a NOOP (the claim is
 *    already known); for a functional predicate an old object that refines the new one is also a
 *    NOOP, so a vaguer restatement never looks like a contradiction downstream. This runs before
 *    the near-duplicate rule so that a more specific restatement refines rather than vanishes;
 * 5. a near duplicate (cosine ≥ duplicateThreshold, same kind and granularity, equal triples when
 *    either has one) is a NOOP;
 * 6. anything else is an ADD (a functional fact with a new value is then closed off by conflict
 *    resolution, not here).
 */
import { DEFAULT_FORGETTING, effectiveStrength, initialStrength, reinforcedStrength, type ForgettingOptions } from '../forget/retention.js';
import { ValidationError } from '../../core/errors.js';
import type { Granularity, MemoryKind, Triple } from '../../core/model.js';
import type { AssociatedCandidate, PlannedChange } from '../../core/pipeline.js';
import type { MemoryState } from '../../core/ports.js';
import { isFunctionalPredicate } from '../../core/predicates.js';
import { cosine, normaliseText } from '../../core/text.js';
import {
  claimOf,
  compatibleValues,
  factKeyOf,
  refinesObject,
  objectTokens,
  quoteOf,
  sameObject,
  sameSubjectPredicate,
  sameTriple,
  tokensOf,
} from './claims.js';

/** One similar active memory of the user, as found by the vector index. */
export interface Neighbour {
  state: MemoryState;
  similarity: number;
}

export interface ConsolidateOptions {
  /** Cosine at or above which a memory of the same kind and granularity is a near duplicate. */
  duplicateThreshold: number;
  /** Forgetting curve: a duplicate multiplies the strength of the memory it reinforces. */
  forgetting: ForgettingOptions;
}

export const DEFAULT_CONSOLIDATE_OPTIONS: Readonly<ConsolidateOptions> = Object.freeze({
  duplicateThreshold: 0.92,
  forgetting: DEFAULT_FORGETTING,
});

export interface ConsolidateContext {
  /** Per candidate id: the user's most similar active memories, best first. */
  neighbours: Record<string, Neighbour[]>;
  /** Per candidate id: active memories with the same text hash. */
  exactMatches: Record<string, MemoryState[]>;
  /**
   * Optional, per `factKeyOf(subject, predicate)`: the user's active facts, so that refinements and
   * retractions also find facts the vector search did not rank among the neighbours.
   */
  activeFacts?: Record<string, MemoryState[]>;
}

/** What consolidation knows of one memory: from the store, or as changed earlier in the batch. */
interface Known {
  readonly id: string;
  readonly kind: MemoryKind;
  readonly granularity: Granularity;
  readonly text: string;
  /** Null for stored memories: their text hash is only known through `exactMatches`. */
  readonly textHash: string | null;
  readonly triple: Triple | null;
  readonly embedding: readonly number[];
  readonly version: number;
  readonly strength: number;
  readonly validFrom: number;
  /** Content written in this batch (an ADD or UPDATE): context similarities are stale for it. */
  readonly changed: boolean;
}

interface Scored {
  readonly known: Known;
  readonly similarity: number;
}

/** Plans one ADD | UPDATE | DELETE | NOOP per candidate (one DELETE per retracted memory). */
export function consolidate(
  candidates: readonly AssociatedCandidate[],
  context: ConsolidateContext,
  opts: Partial<ConsolidateOptions> = {},
): PlannedChange[] {
  const o = optionsOf(opts);
  /** Memories written or reinforced in this batch, by id (added candidates use their own id). */
  const live = new Map<string, Known>();
  /** Memories retracted in this batch: no longer active for later candidates. */
  const retired = new Set<string>();
  const out: PlannedChange[] = [];

  const view = (state: MemoryState): Known | null => {
    const id = state.memory.id;
    if (retired.has(id)) return null;
    const l = live.get(id);
    if (l) return l;
    return state.status === 'active' ? knownOfState(state, o.forgetting) : null;
  };

  for (const c of candidates) {
    const batch = [...live.values()].filter((k) => k.changed && !retired.has(k.id));
    const scored = candidatesFor(c, context, batch, view);
    out.push(...decide(c, scored, o, live, retired));
  }
  return out;
}

/** Merges context neighbours, exact matches, fact-key matches and batch memories for one candidate. */
function candidatesFor(
  c: AssociatedCandidate,
  context: ConsolidateContext,
  batch: readonly Known[],
  view: (s: MemoryState) => Known | null,
): { exact: Known[]; near: Scored[]; facts: Scored[]; examined: string[] } {
  const byId = new Map<string, Scored>();
  const put = (known: Known, similarity: number): void => {
    if (known.id === c.id) return; // a replayed candidate must not match itself: its ADD is idempotent
    const prev = byId.get(known.id);
    if (!prev || prev.similarity < similarity) byId.set(known.id, { known, similarity });
  };
  const simOf = (k: Known, given: number | null): number =>
    k.changed || given === null ? cosine(c.embedding, k.embedding) : given;

  for (const n of context.neighbours[c.id] ?? []) {
    const k = view(n.state);
    if (k) put(k, simOf(k, n.similarity));
  }
  const exact: Known[] = [];
  for (const s of context.exactMatches[c.id] ?? []) {
    const k = view(s);
    if (!k || k.id === c.id) continue;
    // The context hash was computed before this batch: trust it unless the batch rewrote the memory.
    if (k.textHash === null || k.textHash === c.textHash) exact.push(k);
    put(k, simOf(k, null));
  }
  if (c.triple) {
    for (const s of context.activeFacts?.[factKeyOf(c.triple.subject, c.triple.predicate)] ?? []) {
      const k = view(s);
      if (k) put(k, simOf(k, byId.get(k.id)?.similarity ?? null));
    }
  }
  // Memories written earlier in the batch count as existing (reinforced-only ones come via the context).
  for (const k of batch) {
    put(k, cosine(c.embedding, k.embedding));
    if (k.textHash === c.textHash && k.id !== c.id && !exact.some((e) => e.id === k.id)) exact.push(k);
  }

  const all = [...byId.values()].sort((a, b) => b.similarity - a.similarity || cmp(a.known.id, b.known.id));
  const t = c.triple;
  const facts = t
    ? all.filter((s) => s.known.granularity !== 'turn' && s.known.triple && sameSubjectPredicate(s.known.triple, t))
    : [];
  return { exact, near: all, facts, examined: all.map((s) => s.known.id) };
}

function decide(
  c: AssociatedCandidate,
  found: { exact: Known[]; near: Scored[]; facts: Scored[]; examined: string[] },
  o: ConsolidateOptions,
  live: Map<string, Known>,
  retired: Set<string>,
): PlannedChange[] {
  const { examined } = found;
  const compared = (first: string): string[] => [first, ...examined.filter((id) => id !== first)];

  const noop = (k: Known, reason: string): PlannedChange[] => {
    const strength = reinforcedStrength(k.strength, o.forgetting);
    live.set(k.id, { ...k, strength });
    return [
      { op: 'NOOP', targetId: k.id, strength, reason, comparedWith: compared(k.id), causationId: c.sourceEventId },
    ];
  };
  const add = (reason: string): PlannedChange[] => {
    live.set(c.id, knownOfCandidate(c, c.id, 1, initialStrength(c.importance, o.forgetting)));
    return [{ op: 'ADD', candidate: c, reason, comparedWith: examined }];
  };

  const exactDup = found.exact.find((k) => k.kind === c.kind);

  // 1. Episodes keep every turn except verbatim repeats.
  if (c.granularity === 'turn') {
    if (exactDup) return noop(exactDup, `exact duplicate of ${exactDup.id} (same text)`);
    return add('new episode (turn)');
  }

  // 2. Retractions close the facts they name; they never become memories themselves.
  if (c.retraction) return retract(c, found.facts, examined, retired);

  // 3. Exact duplicates.
  if (exactDup) return noop(exactDup, `exact duplicate of ${exactDup.id} (same text)`);

  // 4. Same subject and predicate: refinement or an already known claim.
  const t = c.triple;
  if (t) {
    const sameKind = found.facts.filter((s) => s.known.kind === c.kind);
    for (const { known: k } of sameKind) {
      const kt = k.triple as Triple;
      if (!(sameObject(kt.object, t.object) || refinesObject(t.object, kt.object, t.predicate))) continue;
      const why = moreSpecific(c.text, t, k.text, kt);
      if (why) {
        const version = k.version + 1;
        live.set(k.id, knownOfCandidate(c, k.id, version, k.strength));
        return [
          {
            op: 'UPDATE',
            candidate: c,
            targetId: k.id,
            previousVersion: k.version,
            reason: `refines ${k.id}: ${why} (${quoteOf(k.text)} → ${quoteOf(c.text)})`,
            comparedWith: compared(k.id),
          },
        ];
      }
    }
    const known = sameKind.find((s) => sameObject((s.known.triple as Triple).object, t.object));
    if (known) return noop(known.known, `same claim as ${known.known.id} (${claimOf(t)}), nothing more specific`);
    if (isFunctionalPredicate(t.predicate)) {
      const finer = sameKind.find((s) => refinesObject((s.known.triple as Triple).object, t.object, t.predicate));
      if (finer) {
        const ft = finer.known.triple as Triple;
        return noop(finer.known, `already known more specifically by ${finer.known.id} (${quoteOf(ft.object)})`);
      }
    }
  }

  // 5. Near duplicates.
  for (const s of found.near) {
    if (s.similarity < o.duplicateThreshold) break;
    const k = s.known;
    if (k.kind !== c.kind || k.granularity !== c.granularity) continue;
    if ((k.triple || t) && !(k.triple && t && sameTriple(k.triple, t))) continue;
    return noop(k, `near duplicate of ${k.id} (cosine ${s.similarity.toFixed(3)} ≥ ${o.duplicateThreshold})`);
  }

  // 6. New information.
  const closest = found.near[0];
  return add(
    closest
      ? `new: closest memory ${closest.known.id} at cosine ${closest.similarity.toFixed(3)} is neither a duplicate nor refinable`
      : 'new: no similar active memory',
  );
}

/** DELETE of every active fact a retraction names (none: no change, see the file comment). */
function retract(
  c: AssociatedCandidate,
  facts: readonly Scored[],
  examined: readonly string[],
  retired: Set<string>,
): PlannedChange[] {
  const t = c.triple;
  if (!t) return [];
  const anyObject = isFunctionalPredicate(t.predicate) && tokensOf(t.object).length === 0;
  const targets = facts
    .map((s) => s.known)
    .filter((k) => anyObject || retracts((k.triple as Triple).object, t.object, t.predicate))
    .sort((a, b) => cmp(a.id, b.id));
  return targets.map((k) => {
    retired.add(k.id);
    return {
      op: 'DELETE' as const,
      targetId: k.id,
      previousVersion: k.version,
      // A validity interval never ends before it starts, even when the retraction is dated earlier.
      validTo: Math.max(c.validFrom, k.validFrom),
      // Names the retraction by its message, not its words: erasing that message leaves no quote here.
      reason: `retracted by message ${c.sources[0]?.messageId ?? c.sourceEventId}: withdraws ${quoteOf(k.text)}`,
      comparedWith: [k.id, ...examined.filter((id) => id !== k.id)],
      causationId: c.sourceEventId,
    };
  });
}

/** Why the new text is more specific than the old one, or null when it is not. */
function moreSpecific(newText: string, nt: Triple, oldText: string, ot: Triple): string | null {
  if (!sameObject(nt.object, ot.object) && refinesObject(nt.object, ot.object, nt.predicate)) {
    return `more specific value ${quoteOf(nt.object)} for ${quoteOf(ot.object)}`;
  }
  const n = new Set(tokensOf(newText));
  const old = new Set(tokensOf(oldText));
  const superset = [...old].every((w) => n.has(w)) && n.size > old.size;
  // "still", "really", "actually": a restatement with hedges added says nothing more.
  const added = [...n].filter((w) => !old.has(w));
  if (added.every((w) => HEDGES.has(w))) return null;
  if (superset && normaliseText(newText).length > normaliseText(oldText).length) return 'adds detail';
  return null;
}

/** Words that qualify how a claim is said, not what it says. */
const HEDGES: ReadonlySet<string> = new Set(
  `still really actually just also now currently very so quite definitely indeed truly honestly totally absolutely
  always even already pretty rather fairly literally seriously genuinely personally basically certainly surely
  again anyway though sorry clear`.split(/\s+/),
);

/**
 * True when a retraction's object names the old fact's value: compatible objects, or the same
 * words in the singular ("the cats" retracts "cat named Miso").
 */
function retracts(oldObject: string, retracted: string, predicate: string): boolean {
  if (compatibleValues(oldObject, retracted, predicate)) return true;
  const singular = (o: string): string =>
    objectTokens(o)
      .map((w) => (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w))
      .join(' ');
  const a = singular(oldObject);
  const b = singular(retracted);
  return b !== '' && ` ${a} `.includes(` ${b} `);
}

/** A stored memory as consolidation sees it; retrievals since its last reinforcement count towards its strength. */
function knownOfState(s: MemoryState, forgetting: ForgettingOptions): Known {
  const m = s.memory;
  return {
    id: m.id,
    kind: m.kind,
    granularity: m.granularity,
    text: m.text,
    textHash: null,
    triple: m.triple,
    embedding: m.embedding,
    version: s.version,
    strength: effectiveStrength(m.strength, s.accesses ?? 0, forgetting),
    validFrom: m.validFrom,
    changed: false,
  };
}

function knownOfCandidate(c: AssociatedCandidate, id: string, version: number, strength: number): Known {
  return {
    id,
    kind: c.kind,
    granularity: c.granularity,
    text: c.text,
    textHash: c.textHash,
    triple: c.triple,
    embedding: c.embedding,
    version,
    strength,
    validFrom: c.validFrom,
    changed: true,
  };
}

function optionsOf(opts: Partial<ConsolidateOptions>): ConsolidateOptions {
  const o = { ...DEFAULT_CONSOLIDATE_OPTIONS, ...opts };
  const unit = (name: string, v: number, min: number): void => {
    if (!Number.isFinite(v) || v < min || v > 1) {
      throw new ValidationError(`consolidate option ${name} must be a number in [${min}, 1], got ${v}`, { [name]: v });
    }
  };
  unit('duplicateThreshold', o.duplicateThreshold, Number.MIN_VALUE);
  if (!Number.isFinite(o.forgetting.reinforce) || o.forgetting.reinforce < 1) {
    throw new ValidationError(`consolidate option forgetting.reinforce must be a factor >= 1, got ${o.forgetting.reinforce}`);
  }
  return o;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
