/**
 * Projector checkpoints kept in Qdrant, next to the vector index they describe: a small collection
 * (`engram_checkpoints`, a 1-d dummy vector) with one point per projector/topic/partition, its id a
 * UUIDv5 of those, its payload the next offset to read. Effects are idempotent and saved before
 * the checkpoint (DESIGN.md §4.4); a checkpoint only moves forward.
 */
import type { QdrantClient } from '@qdrant/js-client-rest';
import { v5 as uuidv5 } from 'uuid';
import { ValidationError } from '../../core/errors.js';
import { ENGRAM_NAMESPACE } from '../../core/ids.js';
import type { CheckpointStore } from '../../core/ports.js';
import { createQdrantClient, ensureCollection, qdrantError } from './qdrant-vector-index.js';
import type { QdrantConnection } from './qdrant-vector-index.js';

/** The default checkpoint collection. */
export const CHECKPOINT_COLLECTION = 'engram_checkpoints';

/** Where the checkpoints live. */
export interface QdrantCheckpointOptions extends QdrantConnection {
  /** Collection name ([a-z0-9_], default `engram_checkpoints`): a separate one per deployment or test run. */
  readonly collection?: string;
}

/** The point id of a checkpoint: UUIDv5 of projector, topic and partition. */
export function checkpointPointId(projector: string, topic: string, partition: number): string {
  return uuidv5(['checkpoint', projector, topic, String(partition)].join('\u001f'), ENGRAM_NAMESPACE);
}

/** QdrantCheckpointStore implements CheckpointStore (plus `reset`) in a Qdrant collection. */
export class QdrantCheckpointStore implements CheckpointStore {
  private constructor(
    private readonly client: QdrantClient,
    readonly collection: string,
  ) {}

  /** Connects, creating the collection and its `projector` index when missing. */
  static async open(opts: QdrantCheckpointOptions): Promise<QdrantCheckpointStore> {
    const collection = opts.collection ?? CHECKPOINT_COLLECTION;
    if (!/^[a-z0-9_]{1,200}$/.test(collection)) {
      throw new ValidationError(`checkpoint collection must match [a-z0-9_]{1,200}, got ${JSON.stringify(collection)}`);
    }
    const client = createQdrantClient(opts);
    await ensureCollection(client, collection, { vectors: { size: 1, distance: 'Dot' } });
    const store = new QdrantCheckpointStore(client, collection);
    const info = await store.call('describe', () => client.getCollection(collection));
    if (info.payload_schema?.projector === undefined) {
      await store.call('create payload index on', () =>
        client.createPayloadIndex(collection, { field_name: 'projector', field_schema: 'keyword', wait: true }),
      );
    }
    return store;
  }

  /** The next offset `projector` should read from a partition (0 when it never saved one). */
  async checkpoint(projector: string, topic: string, partition: number): Promise<number> {
    assertKey(projector, topic, partition);
    const [point] = await this.call('read', () =>
      this.client.retrieve(this.collection, {
        ids: [checkpointPointId(projector, topic, partition)],
        with_payload: ['nextOffset'],
        with_vector: false,
      }),
    );
    const next = point?.payload?.nextOffset;
    return typeof next === 'number' && Number.isSafeInteger(next) && next >= 0 ? next : 0;
  }

  /**
   * Records that `projector` has applied everything before `nextOffset`; never moves backwards.
   * Read-then-write: one projector instance owns a partition at a time (consumer group), so
   * there is no concurrent writer of the same checkpoint.
   */
  async saveCheckpoint(projector: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    assertKey(projector, topic, partition);
    assertOffset('nextOffset', nextOffset);
    if ((await this.checkpoint(projector, topic, partition)) >= nextOffset) return;
    const point = {
      id: checkpointPointId(projector, topic, partition),
      vector: [1],
      payload: { projector, topic, partition, nextOffset },
    };
    await this.call('save', () => this.client.upsert(this.collection, { wait: true, points: [point] }));
  }

  /** Forgets every checkpoint of a projector (for replay after its projection was cleared). */
  async reset(projector: string): Promise<void> {
    if (typeof projector !== 'string' || projector === '') throw new ValidationError('projector must be non-empty');
    const filter = { must: [{ key: 'projector', match: { value: projector } }] };
    await this.call('reset', () => this.client.delete(this.collection, { wait: true, filter }));
  }

  /** Drops the collection (tests and decommissioning). */
  async drop(): Promise<void> {
    await this.call('drop', () => this.client.deleteCollection(this.collection));
  }

  private async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw qdrantError(cause, `${op} checkpoints in ${this.collection}`);
    }
  }
}

function assertKey(projector: string, topic: string, partition: number): void {
  if (typeof projector !== 'string' || projector === '' || typeof topic !== 'string' || topic === '') {
    throw new ValidationError('projector and topic must be non-empty');
  }
  assertOffset('partition', partition);
}

function assertOffset(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${field} must be a non-negative integer, got ${value}`, { field });
  }
}
