import { derivedEventIdOf, memoryEventIdOf } from '../../core/ids.js';
import type { Memory, MemoryEvent, MemoryEventPayload, Provenance } from '../../core/model.js';
import type { AssociatedCandidate, ModelUsage, PlannedChange } from '../../core/pipeline.js';
import { DEFAULT_FORGETTING, initialStrength, type ForgettingOptions } from '../forget/retention.js';
import type { Scope } from '../../core/scope.js';

/** A cluster model fitted in this batch (from the associate stage): the ClusterModelFitted payload. */
export type FittedModel = Omit<Extract<MemoryEventPayload, { type: 'ClusterModelFitted' }>, 'type'>;

export interface BuildEventsInput {
  readonly scope: Scope;
  /** Identifies the batch: cause of events that have no single source event. */
  readonly batchId: string;
  readonly recordedAt: number;
  readonly provenance: Provenance;
  readonly changes: readonly PlannedChange[];
  readonly fitted: FittedModel | null;
  /** Language-model calls of the batch's extract stage (judgements arrive as USAGE changes). */
  readonly usage?: readonly ModelUsage[];
  readonly forgetting?: ForgettingOptions;
}

type PayloadOf<T extends MemoryEventPayload['type']> = Extract<MemoryEventPayload, { type: T }>;
/** Events that move a memory to its next version without carrying its content. */
type LifecycleType = 'MemoryInvalidated' | 'MemoryRestored' | 'MemoryForgotten' | 'MemoryArchived' | 'MemoryReleased';

/** Turns a candidate into the memory record it becomes at a given id and version. */
export function memoryFromCandidate(
  scope: Scope,
  c: AssociatedCandidate,
  id: string,
  version: number,
  recordedAt: number,
  provenance: Provenance,
  forgetting: ForgettingOptions = DEFAULT_FORGETTING,
): Memory {
  return {
    id,
    tenantId: scope.tenantId,
    userId: scope.userId,
    kind: c.kind,
    granularity: c.granularity,
    text: c.text,
    triple: c.triple,
    entities: [...c.entities],
    keywords: [...c.keywords],
    embedding: [...c.embedding],
    embeddingModel: c.embeddingModel,
    importance: c.importance,
    strength: initialStrength(c.importance, forgetting),
    validFrom: c.validFrom,
    validTo: null,
    recordedAt,
    supersededAt: null,
    version,
    sources: [...c.sources],
    // A unit a language model produced names that model and its prompt.
    provenance: c.producedBy ? { ...provenance, model: c.producedBy.model, promptHash: c.producedBy.promptHash } : provenance,
  };
}

/**
 * The memory events of one batch, in decision order, with deterministic ids. Versions are tracked
 * across the batch so that several changes to one memory (an ADD then an INVALIDATE) get
 * consecutive versions.
 */
export function buildMemoryEvents(input: BuildEventsInput): MemoryEvent[] {
  const { scope, recordedAt, provenance } = input;
  const forgetting = input.forgetting ?? DEFAULT_FORGETTING;
  const versions = new Map<string, number>();
  const next = (id: string, previous: number): number => {
    const v = Math.max(previous, versions.get(id) ?? 0) + 1;
    versions.set(id, v);
    return v;
  };
  const events: MemoryEvent[] = [];
  const emit = (eventId: string, causationId: string, payload: MemoryEventPayload): void => {
    events.push({ eventId, tenantId: scope.tenantId, userId: scope.userId, recordedAt, causationId, payload });
  };

  if (input.fitted) {
    const f = input.fitted;
    emit(derivedEventIdOf('cluster-model', scope.tenantId, scope.userId, f.modelId), input.batchId, {
      type: 'ClusterModelFitted',
      ...f,
    });
  }

  /** A lifecycle event at the memory's next version; its id derives from memory, version and type. */
  const lifecycle = <T extends LifecycleType>(
    change: { readonly targetId: string; readonly previousVersion: number; readonly causationId: string },
    type: T,
    fields: Omit<PayloadOf<T>, 'type' | 'memoryId' | 'version'>,
  ): void => {
    const version = next(change.targetId, change.previousVersion);
    // TypeScript cannot see that spreading the remaining fields of PayloadOf<T> rebuilds PayloadOf<T>.
    const payload = { type, memoryId: change.targetId, version, ...fields } as unknown as PayloadOf<T>;
    emit(memoryEventIdOf(change.targetId, version, type), change.causationId, payload);
  };
  // The call's position in the batch keeps two identical calls distinct and a retry's ids stable.
  const usage = (u: ModelUsage, causationId: string, slot: string): void => {
    emit(derivedEventIdOf('model-called', input.batchId, slot), causationId, { type: 'ModelCalled', ...u });
  };
  (input.usage ?? []).forEach((u, i) => usage(u, input.batchId, `extract-${i}`));

  input.changes.forEach((change, index) => {
    switch (change.op) {
      case 'ADD':
      case 'UPDATE': {
        const c = change.candidate;
        const id = change.op === 'ADD' ? c.id : change.targetId;
        const version = next(id, change.op === 'ADD' ? 0 : change.previousVersion);
        const memory = memoryFromCandidate(scope, c, id, version, recordedAt, provenance, forgetting);
        const decision = { op: change.op, reason: change.reason, comparedWith: [...change.comparedWith] };
        const type = change.op === 'ADD' ? 'MemoryAdded' : 'MemoryUpdated';
        emit(
          memoryEventIdOf(id, version, type),
          c.sourceEventId,
          change.op === 'ADD'
            ? { type: 'MemoryAdded', memory, decision }
            : { type: 'MemoryUpdated', memory, previousVersion: version - 1, decision },
        );
        if (c.clusters.length > 0 || c.links.length > 0) {
          emit(derivedEventIdOf('cluster-assigned', id, String(version)), c.sourceEventId, {
            type: 'ClusterAssigned',
            memoryId: id,
            modelId: input.fitted?.modelId ?? '',
            responsibilities: [...c.clusters],
            links: [...c.links],
          });
        }
        break;
      }
      case 'DELETE':
      case 'INVALIDATE':
        lifecycle(change, 'MemoryInvalidated', {
          validTo: change.validTo,
          supersededAt: recordedAt,
          invalidatedBy: change.op === 'INVALIDATE' ? change.invalidatedBy : null,
          reason: change.reason,
          decision: {
            op: 'DELETE',
            reason: change.reason,
            comparedWith: change.op === 'DELETE' ? [...change.comparedWith] : change.invalidatedBy ? [change.invalidatedBy] : [],
          },
        });
        break;
      case 'RESTORE':
        lifecycle(change, 'MemoryRestored', { reason: change.reason });
        break;
      case 'FORGET':
        lifecycle(change, 'MemoryForgotten', { reason: change.reason });
        break;
      case 'NOOP':
        // The change's index keeps two reinforcements of one memory by one event distinct.
        emit(derivedEventIdOf('reinforced', change.targetId, change.causationId, String(index)), change.causationId, {
          type: 'MemoryReinforced',
          memoryId: change.targetId,
          strength: change.strength,
          reason: change.reason,
          decision: { op: 'NOOP', reason: change.reason, comparedWith: [...change.comparedWith] },
        });
        break;
      case 'QUARANTINE': {
        const c = change.candidate;
        const version = next(c.id, 0);
        emit(memoryEventIdOf(c.id, version, 'MemoryQuarantined'), c.sourceEventId, {
          type: 'MemoryQuarantined',
          memory: memoryFromCandidate(scope, c, c.id, version, recordedAt, provenance, forgetting),
          score: change.score,
          reasons: [...change.reasons],
        });
        break;
      }
      case 'LESSON':
        emit(derivedEventIdOf('lesson', change.lesson.id), change.causationId, {
          type: 'LessonRecorded',
          lesson: change.lesson,
        });
        break;
      case 'RELEASE':
        lifecycle(change, 'MemoryReleased', { approved: change.approved, reason: change.reason });
        break;
      case 'HOLD': {
        const version = next(change.memory.id, change.previousVersion);
        emit(memoryEventIdOf(change.memory.id, version, 'MemoryQuarantined'), change.causationId, {
          type: 'MemoryQuarantined',
          memory: { ...change.memory, version, recordedAt },
          score: change.score,
          reasons: [...change.reasons],
        });
        break;
      }
      case 'ARCHIVE':
        lifecycle(change, 'MemoryArchived', { retention: change.retention, strength: change.strength, reason: change.reason });
        break;
      case 'USAGE':
        usage(change.usage, change.causationId, `change-${index}`);
        break;
    }
  });
  return events;
}
