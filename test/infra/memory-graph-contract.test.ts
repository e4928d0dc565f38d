/**
 * The MemoryGraph contract on LadybugDB, each case in a fresh temp directory. Raw counts close the
 * graph, read the file directly (LadybugDB allows one open database per process) and reopen it,
 * which also checks that everything counted was committed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import lbug from '@ladybugdb/core';
import type { AssociationLink, MemoryStatus } from '../../core/model.js';
import type { GraphMemory, Neighbourhood, ScoredId } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import { GRAPH_FILE, LadybugMemoryGraph } from '../../infra/embedded/memory-graph.js';
import type { ContractGraph, GraphCounts } from '../contracts/memory-graph.contract.js';
import { graphCountsOf, memoryGraphContract } from '../contracts/memory-graph.contract.js';

/** A LadybugMemoryGraph that can be closed and reopened under the same object. */
class ReopenableGraph implements ContractGraph {
  constructor(
    private current: LadybugMemoryGraph,
    private readonly dir: string,
  ) {}

  upsertMemory(scope: Scope, memory: GraphMemory): Promise<void> {
    return this.current.upsertMemory(scope, memory);
  }
  setStatus(scope: Scope, id: string, status: MemoryStatus, validTo: number | null, supersededAt: number | null): Promise<void> {
    return this.current.setStatus(scope, id, status, validTo, supersededAt);
  }
  link(scope: Scope, id: string, links: readonly AssociationLink[]): Promise<void> {
    return this.current.link(scope, id, links);
  }
  removeMemory(scope: Scope, id: string): Promise<void> {
    return this.current.removeMemory(scope, id);
  }
  neighbourhood(scope: Scope, entity: string, depth: number, includeInactive?: boolean): Promise<Neighbourhood> {
    return this.current.neighbourhood(scope, entity, depth, includeInactive);
  }
  related(scope: Scope, ids: readonly string[], limit: number): Promise<ScoredId[]> {
    return this.current.related(scope, ids, limit);
  }
  entities(scope: Scope, limit: number): Promise<{ name: string; mentions: number }[]> {
    return this.current.entities(scope, limit);
  }
  checkpoint(projector: string, topic: string, partition: number): Promise<number> {
    return this.current.checkpoint(projector, topic, partition);
  }
  saveCheckpoint(projector: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    return this.current.saveCheckpoint(projector, topic, partition, nextOffset);
  }
  clear(): Promise<void> {
    return this.current.clear();
  }
  reset(projector: string): Promise<void> {
    return this.current.reset(projector);
  }
  close(): Promise<void> {
    return this.current.close();
  }

  /** Closes the graph, counts nodes and edges in the file, and reopens it. */
  async counts(): Promise<GraphCounts> {
    await this.current.close();
    const db = new lbug.Database(path.join(this.dir, GRAPH_FILE), 64 * 1024 * 1024, true, false, 2 ** 32);
    const conn = new lbug.Connection(db);
    const count = async (q: string): Promise<number> => {
      const res = await conn.query(q);
      const results = Array.isArray(res) ? res : [res];
      const rows = await (results[0] as (typeof results)[number]).getAll();
      for (const r of results) r.close();
      return Number(rows[0]?.['c']);
    };
    try {
      const node = (label: string): Promise<number> => count(`MATCH (n:${label}) RETURN count(n) AS c`);
      const rel = (type: string): Promise<number> => count(`MATCH ()-[r:${type}]->() RETURN count(r) AS c`);
      return await graphCountsOf(node, rel);
    } finally {
      await conn.close();
      await db.close();
      this.current = await LadybugMemoryGraph.open(this.dir);
    }
  }
}

memoryGraphContract(test, 'ladybug', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const graph = new ReopenableGraph(await LadybugMemoryGraph.open(dir), dir);
  return {
    graph,
    counts: () => graph.counts(),
    close: async () => {
      await graph.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
