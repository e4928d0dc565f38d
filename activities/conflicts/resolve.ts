/**
 * Conflict resolution (Graphiti's bi-temporal edges): a new fact that contradicts an active one
 * closes the old fact's validity at the new fact's `validFrom`. Contradictions expire, they are
 * never deleted: the output only adds INVALIDATE changes, each right after the ADD/UPDATE that
 * caused it, so the memory it names exists by the time commit writes the invalidation.
 *
 * Contradiction means: the same subject and a functional predicate with an incompatible object
 * (neither names nor refines the other, so "Paris" → "Paris, France" is not one, but a longer
 * title is: "Dune" → "Dune Messiah"), or opposite
 * predicates (likes / dislikes) with the same object.
 *
 * World time decides the direction. When the active fact is newer in world time than the incoming
 * one (the user mentions where they lived before), the old fact stays and the incoming fact is
 * historical: it cannot be invalidated before it exists, so it is added and then immediately
 * invalidated with validTo = the newer fact's validFrom and invalidatedBy = that fact's id.
 *
 * Facts written earlier in the same batch count as active for later ones, so two new facts on one
 * functional key leave only the later (in world time) one active.
 */
import type { Triple } from '../../core/model.js';
import type { PlannedChange } from '../../core/pipeline.js';
import type { MemoryState } from '../../core/ports.js';
import { isFunctionalPredicate, OPPOSITE_PREDICATES } from '../../core/predicates.js';
import { compatibleValues, factKeyOf, isoOf, quoteOf, sameObject } from '../consolidate/claims.js';

export interface ResolveOptions {
  /** Predicates that hold one value at a time per subject. */
  isFunctional: (predicate: string) => boolean;
  /** Pairs of predicates that contradict each other for the same object (read in both directions). */
  opposites: Readonly<Record<string, string>>;
}

export const DEFAULT_RESOLVE_OPTIONS: Readonly<ResolveOptions> = Object.freeze({
  isFunctional: isFunctionalPredicate,
  opposites: OPPOSITE_PREDICATES,
});

export interface ResolveContext {
  /** Key `factKeyOf(subject, predicate)` (`${subjectLower}|${predicate}`): active facts of the user. */
  activeFacts: Record<string, MemoryState[]>;
}

/** An active fact as conflict resolution tracks it through the batch. */
interface Fact {
  readonly id: string;
  readonly triple: Triple;
  readonly validFrom: number;
  readonly version: number;
}

interface Rival {
  readonly fact: Fact;
  readonly why: 'functional' | 'opposite';
}

/** Predicates opposite to `predicate`, in either direction of the table. */
export function oppositesOf(predicate: string, opposites: Readonly<Record<string, string>> = OPPOSITE_PREDICATES): string[] {
  const out = new Set<string>();
  const direct = opposites[predicate];
  if (direct !== undefined) out.add(direct);
  for (const [p, q] of Object.entries(opposites)) if (q === predicate) out.add(p);
  out.delete(predicate);
  return [...out].sort();
}

/** The `activeFacts` keys conflict resolution reads for a new triple (its own key and its opposites'). */
export function conflictKeysOf(triple: Triple, opts: Partial<ResolveOptions> = {}): string[] {
  const o = { ...DEFAULT_RESOLVE_OPTIONS, ...opts };
  const keys = o.isFunctional(triple.predicate) ? [factKeyOf(triple.subject, triple.predicate)] : [];
  for (const q of oppositesOf(triple.predicate, o.opposites)) keys.push(factKeyOf(triple.subject, q));
  return keys;
}

/** Returns the changes with an INVALIDATE after each ADD/UPDATE for every fact it contradicts. */
export function resolveConflicts(
  changes: readonly PlannedChange[],
  context: ResolveContext,
  opts: Partial<ResolveOptions> = {},
): PlannedChange[] {
  const o = { ...DEFAULT_RESOLVE_OPTIONS, ...opts };
  /** Active facts by key, loaded lazily from the context and kept current through the batch. */
  const pools = new Map<string, Fact[]>();
  /** Memories no longer active because of an earlier change in the batch. */
  const gone = new Set<string>();
  /** Versions as changed in this batch (each invalidation adds one). */
  const versions = new Map<string, number>();

  const pool = (key: string): Fact[] => {
    let p = pools.get(key);
    if (!p) {
      p = [];
      for (const s of context.activeFacts[key] ?? []) {
        const t = s.memory.triple;
        if (s.status !== 'active' || !t || s.memory.granularity === 'turn') continue;
        if (p.some((f) => f.id === s.memory.id)) continue;
        p.push({ id: s.memory.id, triple: t, validFrom: s.memory.validFrom, version: s.version });
      }
      pools.set(key, p);
    }
    return p;
  };
  const versionOf = (f: Fact): number => versions.get(f.id) ?? f.version;
  const forget = (id: string): void => {
    for (const p of pools.values()) {
      const i = p.findIndex((f) => f.id === id);
      if (i >= 0) p.splice(i, 1);
    }
  };

  const out: PlannedChange[] = [];
  for (const ch of changes) {
    out.push(ch);
    if (ch.op === 'DELETE' || ch.op === 'FORGET' || ch.op === 'INVALIDATE') {
      gone.add(ch.targetId);
      versions.set(ch.targetId, Math.max(versions.get(ch.targetId) ?? 0, ch.previousVersion + 1));
      forget(ch.targetId);
      continue;
    }
    if (ch.op !== 'ADD' && ch.op !== 'UPDATE') continue;

    const c = ch.candidate;
    const memId = ch.op === 'ADD' ? c.id : ch.targetId;
    const version = ch.op === 'ADD' ? 1 : ch.previousVersion + 1;
    versions.set(memId, version);
    forget(memId); // an UPDATE replaces the target's old content
    const t = c.triple;
    if (!t || c.granularity === 'turn') continue;

    const rivals: Rival[] = [];
    if (o.isFunctional(t.predicate)) {
      for (const f of pool(factKeyOf(t.subject, t.predicate))) {
        if (f.id !== memId && !gone.has(f.id) && !compatibleValues(f.triple.object, t.object, t.predicate)) {
          rivals.push({ fact: f, why: 'functional' });
        }
      }
    }
    for (const q of oppositesOf(t.predicate, o.opposites)) {
      for (const f of pool(factKeyOf(t.subject, q))) {
        if (f.id !== memId && !gone.has(f.id) && sameObject(f.triple.object, t.object)) {
          rivals.push({ fact: f, why: 'opposite' });
        }
      }
    }
    rivals.sort((a, b) => a.fact.validFrom - b.fact.validFrom || cmp(a.fact.id, b.fact.id));

    let historical: Rival | null = null;
    for (const r of rivals) {
      const f = r.fact;
      if (f.validFrom > c.validFrom) {
        historical ??= r; // the earliest newer fact ends the incoming one
        continue;
      }
      const previousVersion = versionOf(f);
      out.push({
        op: 'INVALIDATE',
        targetId: f.id,
        previousVersion,
        validTo: c.validFrom,
        invalidatedBy: memId,
        reason: reasonOf(r.why, f.triple, t, c.validFrom),
        causationId: c.sourceEventId,
      });
      versions.set(f.id, previousVersion + 1);
      gone.add(f.id);
      forget(f.id);
    }

    if (historical) {
      const f = historical.fact;
      out.push({
        op: 'INVALIDATE',
        targetId: memId,
        previousVersion: version,
        validTo: f.validFrom,
        invalidatedBy: f.id,
        reason: `historical: ${reasonOf(historical.why, t, f.triple, f.validFrom)}`,
        causationId: c.sourceEventId,
      });
      versions.set(memId, version + 1);
      gone.add(memId);
      continue;
    }
    pool(factKeyOf(t.subject, t.predicate)).push({ id: memId, triple: t, validFrom: c.validFrom, version });
  }
  return out;
}

/** A reason naming the old and the new value and when the change happened. */
/**
 * Why `older` stopped being true. It quotes only the invalidated fact's own object: the newer
 * fact is named by id (`invalidatedBy`), so erasing the newer message leaves no quote of it behind.
 */
function reasonOf(why: Rival['why'], older: Triple, newer: Triple, at: number): string {
  if (why === 'functional') {
    return `${older.subject} ${older.predicate} ${quoteOf(older.object)} replaced by a newer value on ${isoOf(at)}`;
  }
  return `${older.subject} ${older.predicate} ${quoteOf(older.object)} contradicted by a newer ${newer.predicate} fact from ${isoOf(at)}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
