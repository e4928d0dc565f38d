/**
 * The forgetting curve (MemoryBank, after Ebbinghaus): retention R = exp(-Δt / S), with S the
 * memory's strength (stability) in days and Δt the days since it was last learnt, reinforced or
 * retrieved. Importance sets the starting strength; each reinforcement and each retrieval
 * multiplies it. A pure function of recorded facts and the given clock, so the pass that archives
 * weak memories is deterministic.
 */
import type { MemoryKind } from '../../core/model.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Forgetting settings (config: ENGRAM_FORGET_*). */
export interface ForgettingOptions {
  /** Half-life in days of a memory of importance 0.5 that is never recalled. */
  readonly halfLifeDays: number;
  /** Retention below which a memory is archived. */
  readonly floor: number;
  /** Factor by which each reinforcement or retrieval multiplies the strength. */
  readonly reinforce: number;
  /** Strength never grows past this many days (a memory recalled daily for years stays bounded). */
  readonly maxStrengthDays: number;
}

/** Defaults: a month's half-life, archive below 5 % retention, ×1.5 per recall. */
export const DEFAULT_FORGETTING: Readonly<ForgettingOptions> = Object.freeze({
  halfLifeDays: 30,
  floor: 0.05,
  reinforce: 1.5,
  maxStrengthDays: 3650,
});

/** Kinds the pass never archives: lessons guard later decisions whatever their age. */
const NEVER_ARCHIVED: ReadonlySet<MemoryKind> = new Set(['lesson']);

/** Starting strength in days: importance 0 gives half, importance 1 one and a half times the half-life's S. */
export function initialStrength(importance: number, opts: ForgettingOptions = DEFAULT_FORGETTING): number {
  const i = Number.isFinite(importance) ? Math.min(1, Math.max(0, importance)) : 0.5;
  return round4((opts.halfLifeDays / Math.LN2) * (0.5 + i));
}

/** Strength after one more reinforcement (capped). */
export function reinforcedStrength(strength: number, opts: ForgettingOptions = DEFAULT_FORGETTING): number {
  return round4(Math.min(opts.maxStrengthDays, Math.max(strength, 1e-3) * opts.reinforce));
}

/** Strength after `accesses` retrievals recorded since the stored strength (capped). */
export function effectiveStrength(strength: number, accesses: number, opts: ForgettingOptions = DEFAULT_FORGETTING): number {
  const n = Math.max(0, Math.floor(accesses));
  return Math.min(opts.maxStrengthDays, Math.max(strength, 1e-3) * opts.reinforce ** n);
}

/** R = exp(-Δt / S), Δt in days since `lastTouchedAt` (1 when touched now or in the future). */
export function retention(strengthDays: number, lastTouchedAt: number, now: number): number {
  const elapsedDays = Math.max(0, now - lastTouchedAt) / DAY_MS;
  return Math.exp(-elapsedDays / Math.max(strengthDays, 1e-3));
}

/** What the pass needs of one active memory. */
export interface DecayInput {
  readonly id: string;
  readonly kind: MemoryKind;
  readonly version: number;
  /** Stored strength in days. */
  readonly strength: number;
  /** Retrievals recorded since the stored strength was set. */
  readonly accesses: number;
  /** Latest of: recorded, reinforced, retrieved (system time, ms). */
  readonly lastTouchedAt: number;
}

/** A memory the pass archives, with the figures that decided it. */
export interface ArchiveDecision {
  readonly id: string;
  readonly version: number;
  readonly retention: number;
  readonly strength: number;
  readonly reason: string;
}

/** The memories whose retention at `now` is below the floor, in id order (deterministic for a given clock). */
export function planDecay(memories: readonly DecayInput[], now: number, opts: ForgettingOptions = DEFAULT_FORGETTING): ArchiveDecision[] {
  const out: ArchiveDecision[] = [];
  for (const m of memories) {
    if (NEVER_ARCHIVED.has(m.kind)) continue;
    const strength = effectiveStrength(m.strength, m.accesses, opts);
    const r = retention(strength, m.lastTouchedAt, now);
    if (r >= opts.floor) continue;
    const days = (now - m.lastTouchedAt) / DAY_MS;
    out.push({
      id: m.id,
      version: m.version,
      retention: round4(r),
      strength: round4(strength),
      reason: `retention ${r.toFixed(4)} below floor ${opts.floor} after ${days.toFixed(1)} days (strength ${strength.toFixed(1)} days)`,
    });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
