/**
 * Graph expansion (HippoRAG-style personalised PageRank): a walk from the best candidates over the
 * user's memory subgraph — association links from the mixture model, entities shared by a few
 * memories, and neighbouring turns of one session — scores memories the lists ranked low or missed.
 */
import type { MemoryState } from '../../core/ports.js';
import { personalisedPageRank, type WeightedEdge } from './ppr.js';

/** Edges among `states`: association links (to any memory), shared entities, and neighbouring records of one session. */
export function expansionEdges(states: readonly MemoryState[]): WeightedEdge[] {
  const edges: WeightedEdge[] = [];
  const byEntity = new Map<string, string[]>();
  const byTurn: { id: string; session: string; offset: number }[] = [];
  for (const s of states) {
    const m = s.memory;
    for (const l of s.links) edges.push({ a: m.id, b: l.memoryId, weight: l.weight });
    for (const e of new Set(m.entities.map((x) => x.toLowerCase()))) {
      const ids = byEntity.get(e);
      if (ids) ids.push(m.id);
      else byEntity.set(e, [m.id]);
    }
    for (const src of m.sources.slice(0, 3)) byTurn.push({ id: m.id, session: `${src.topic}/${src.partition}/${src.sessionId}`, offset: src.offset });
  }
  for (const ids of byEntity.values()) {
    // An entity most memories mention (the user's own name) links everything and says nothing: skip hubs.
    if (ids.length < 2 || ids.length > Math.max(8, states.length / 4)) continue;
    const w = 1 / (ids.length - 1);
    for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) edges.push({ a: ids[i] as string, b: ids[j] as string, weight: w });
  }
  byTurn.sort((x, y) => (x.session < y.session ? -1 : x.session > y.session ? 1 : x.offset - y.offset));
  for (let i = 1; i < byTurn.length; i++) {
    const y = byTurn[i] as (typeof byTurn)[number];
    // Back over every earlier record of the session at most 2 behind: the same record (a turn and
    // the facts taken from it) or the ones just before (the message this one replies to).
    for (let j = i - 1; j >= 0; j--) {
      const x = byTurn[j] as (typeof byTurn)[number];
      if (x.session !== y.session || y.offset - x.offset > 2) break;
      if (x.id !== y.id) edges.push({ a: x.id, b: y.id, weight: y.offset === x.offset ? 1 : 0.5 });
    }
  }
  return edges;
}

/**
 * PageRank mass of every non-seed node reachable from the seeds, scaled so the best one gets 1.
 * Includes nodes outside `states` (association targets), which the caller may fetch.
 */
export function expansionScores(seeds: ReadonlyMap<string, number>, states: readonly MemoryState[]): Map<string, number> {
  const pr = personalisedPageRank(seeds, expansionEdges(states));
  const others = [...pr].filter(([id, v]) => !seeds.has(id) && v > 0);
  const max = Math.max(0, ...others.map(([, v]) => v));
  return new Map(max > 0 ? others.map(([id, v]) => [id, v / max]) : []);
}
