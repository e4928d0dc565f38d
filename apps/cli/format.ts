import type { MemoryState } from '../../core/ports.js';
import type { SearchHit } from '../../readmodels/search.js';

/** ISO date-time of epoch ms, or "now" for an open end. */
export function isoOrOpen(ms: number | null): string {
  return ms === null ? 'now' : new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** The validity window of a memory, e.g. "2024-03-04T09:02:00Z → 2024-06-03T18:30:00Z". */
export function validity(validFrom: number, validTo: number | null): string {
  return `${isoOrOpen(validFrom)} → ${isoOrOpen(validTo)}`;
}

/** One search hit as a line plus its sources. */
export function formatHit(hit: SearchHit, rank: number): string {
  const sources = [...new Set(hit.sources.map((s) => s.messageId))].join(', ');
  const status = hit.status === 'active' ? '' : ` [${hit.status}]`;
  return `${String(rank).padStart(2)}. (${hit.score.toFixed(4)}) [${hit.kind}] ${hit.text}${status}\n      valid ${validity(hit.validFrom, hit.validTo)} · sources: ${sources}`;
}

/** One memory as a line. */
export function formatMemory(s: MemoryState): string {
  const m = s.memory;
  const status = s.status === 'active' ? '' : ` [${s.status}]`;
  return `- [${m.kind}/${m.granularity}] ${m.text}${status}  (id ${m.id}, v${s.version})`;
}
