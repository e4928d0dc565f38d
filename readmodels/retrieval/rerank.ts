/**
 * Re-ranking over fused candidates: preference for names the query mentions, and a diversity pass
 * that moves down results adding no source not already cited above them (an episode and the fact
 * taken from it are one piece of evidence, not two).
 */
import type { MemoryState } from '../../core/ports.js';

/** Whether a memory is by or about one of the (lower-cased) names: subject, entities or speaker label. */
export function mentionsName(state: MemoryState, names: readonly string[]): boolean {
  const m = state.memory;
  // Whole words only: "carol" is not "Caroline".
  const words = new Set([m.triple?.subject ?? '', ...m.entities].flatMap((x) => x.toLowerCase().split(/[^\p{L}\p{N}'’-]+/u)));
  const colon = m.text.indexOf(':');
  const speaker = colon > 0 ? m.text.slice(0, colon).toLowerCase() : '';
  return names.some((n) => words.has(n) || speaker === n);
}

/** Results whose sources are all cited by higher-ranked results move below the rest; order is otherwise kept. */
export function diversify<T extends { readonly state: MemoryState }>(ranked: readonly T[]): T[] {
  const seen = new Set<string>();
  const fresh: T[] = [];
  const repeats: T[] = [];
  for (const r of ranked) {
    const keys = r.state.memory.sources.map((s) => `${s.topic}/${s.partition}/${s.offset}`);
    if (keys.length > 0 && keys.every((k) => seen.has(k))) repeats.push(r);
    else fresh.push(r);
    for (const k of keys) seen.add(k);
  }
  return [...fresh, ...repeats];
}
