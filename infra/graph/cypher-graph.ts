/**
 * The MemoryGraph and CheckpointStore ports over the shared Cypher (cypher.ts), for every graph
 * engine: each port call is one transaction, a read or a write as listed here, so that the
 * LadybugDB and Neo4j adapters cannot drift apart. An adapter supplies only its transactions.
 */
import type { AssociationLink, MemoryStatus } from '../../core/model.js';
import type { CheckpointStore, GraphMemory, MemoryGraph, Neighbourhood, ScoredId } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import type { CypherRunner } from './cypher.js';
import {
  clearGraph,
  deleteCheckpoints,
  eraseMemory,
  readCheckpoint,
  readEntities,
  readNeighbourhood,
  readRelated,
  writeCheckpoint,
  writeLinks,
  writeMemory,
  writeStatus,
} from './cypher.js';

/** The port methods of a graph adapter; a subclass runs the transactions and closes the engine. */
export abstract class CypherMemoryGraph implements MemoryGraph, CheckpointStore {
  /** Runs `fn` in one read-only transaction; `op` names the port call (for errors). */
  protected abstract read<T>(op: string, fn: (tx: CypherRunner) => Promise<T>): Promise<T>;

  /** Runs `fn` in one write transaction; `op` names the port call (for errors). */
  protected abstract write<T>(op: string, fn: (tx: CypherRunner) => Promise<T>): Promise<T>;

  /** Releases the engine. */
  abstract close(): Promise<void>;

  // ------------------------------------------------------------ MemoryGraph

  /** Creates or replaces a memory node with its entities, fact edge and provenance. Idempotent. */
  upsertMemory(scope: Scope, memory: GraphMemory): Promise<void> {
    return this.write('upsertMemory', (tx) => writeMemory(tx, scope, memory));
  }

  /** Updates lifecycle and validity of a memory node and its fact edge. */
  setStatus(
    scope: Scope,
    memoryId: string,
    status: MemoryStatus,
    validTo: number | null,
    supersededAt: number | null,
  ): Promise<void> {
    return this.write('setStatus', (tx) => writeStatus(tx, scope, memoryId, status, validTo, supersededAt));
  }

  /** Weighted association edges from a memory (targets must already be in the graph). Idempotent. */
  link(scope: Scope, memoryId: string, links: readonly AssociationLink[]): Promise<void> {
    return this.write('link', (tx) => writeLinks(tx, scope, memoryId, links));
  }

  /** Removes a memory, its edges, and the entities and messages only it referred to (erasure). */
  removeMemory(scope: Scope, memoryId: string): Promise<void> {
    return this.write('removeMemory', (tx) => eraseMemory(tx, scope, memoryId));
  }

  /** Entities and memories within `depth` (1-3) hops of an entity. Only active memories unless asked. */
  neighbourhood(scope: Scope, entity: string, depth: number, includeInactive = false): Promise<Neighbourhood> {
    return this.read('neighbourhood', (tx) => readNeighbourhood(tx, scope, entity, depth, includeInactive));
  }

  /** Active memories sharing entities or associations with these memories, best first. */
  related(scope: Scope, memoryIds: readonly string[], limit: number): Promise<ScoredId[]> {
    return this.read('related', (tx) => readRelated(tx, scope, memoryIds, limit));
  }

  /** Entities of a user by the number of active memories mentioning them. */
  entities(scope: Scope, limit: number): Promise<{ name: string; mentions: number }[]> {
    return this.read('entities', (tx) => readEntities(tx, scope, limit));
  }

  /** Drops every memory, entity and message of the database (for a rebuild); checkpoints stay until `reset`. */
  clear(): Promise<void> {
    return this.write('clear', (tx) => clearGraph(tx));
  }

  // ------------------------------------------------------------ CheckpointStore

  /** The next offset a projector should read from a partition (0 when none saved). */
  checkpoint(projector: string, topic: string, partition: number): Promise<number> {
    return this.read('checkpoint', (tx) => readCheckpoint(tx, projector, topic, partition));
  }

  /** Saves a projector's next offset for a partition. */
  saveCheckpoint(projector: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    return this.write('saveCheckpoint', (tx) => writeCheckpoint(tx, projector, topic, partition, nextOffset));
  }

  /** Drops every checkpoint of a projector (for replay). */
  reset(projector: string): Promise<void> {
    return this.write('reset', (tx) => deleteCheckpoints(tx, projector));
  }
}
