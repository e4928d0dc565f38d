/**
 * Instrumentation of the stream side, applied where the parts are assembled: the ingest bridge's
 * hand-off and dead-letter appends (events ingested per tenant and outcome), the projections
 * (latency, events, spans continuing the committing batch's trace), and consumer-lag sources for
 * the lag gauge.
 */
import { TOPICS, type LogPosition, type PositionedEvent } from '../../core/model.js';
import type { AppendRecord, EventLog } from '../../core/ports.js';
import type { HandOff } from '../../streams/ingest-bridge.js';
import type { PositionedMemoryEvent, Projection } from '../../streams/projectors/projection.js';
import { memoryPositionKey } from './instrument-activities.js';
import { recordIngested, recordProjection, registerLagSource } from './metrics.js';
import { handOver, withSpanFrom } from './tracing.js';

/** The key under which a published event hands its trace over to the bridge and its batch. */
export function eventKey(eventId: string): string {
  return `event:${eventId}`;
}

/** Events per tenant (a hand-off is one workflow, so one tenant, but count honestly). */
function byTenant(events: readonly PositionedEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.event.tenantId, (counts.get(e.event.tenantId) ?? 0) + 1);
  return counts;
}

/**
 * A hand-off that counts the events it delivers as processed and runs in a span continuing their
 * publish spans; the batch that processes them continues this span in turn (in-process).
 */
export function meteredHandOff(handOff: HandOff): HandOff {
  return async (workflowId, events) => {
    const keys = (): string[] => events.map((e) => eventKey(e.event.eventId));
    await withSpanFrom('engram.ingest.handoff', { 'engram.workflow_id': workflowId, 'engram.events': events.length }, keys, async () => {
      await handOff(workflowId, events);
      handOver(keys);
    });
    for (const [tenant, n] of byTenant(events)) recordIngested(tenant, 'processed', n);
  };
}

/** The tenant a dead-lettered record's key names (`tenant/user`), if it names one. */
function tenantOfKey(key: string | null | undefined): string | null {
  if (typeof key !== 'string') return null;
  const slash = key.indexOf('/');
  return slash > 0 ? key.slice(0, slash) : null;
}

/**
 * The log as the ingest bridge sees it, counting every record appended to the conversation
 * dead-letter topic by the tenant of its key ('unknown' when the key is not a valid scope).
 */
export function meteredDeadLetters(log: EventLog): EventLog {
  return {
    ensureTopic: (topic, partitions) => log.ensureTopic(topic, partitions),
    append: async (topic: string, records: readonly AppendRecord[]): Promise<LogPosition[]> => {
      const positions = await log.append(topic, records);
      if (topic === TOPICS.conversationDlq) for (const r of records) recordIngested(tenantOfKey(r.key), 'dead_lettered');
      return positions;
    },
    read: (topic, partition, fromOffset, max) => log.read(topic, partition, fromOffset, max),
    partitions: (topic) => log.partitions(topic),
    endOffset: (topic, partition) => log.endOffset(topic, partition),
    consumer: (group, topic) => log.consumer(group, topic),
    close: () => log.close(),
  };
}

/** One projection, timed and traced per applied batch. */
function instrumentProjection(p: Projection): Projection {
  return {
    name: p.name,
    checkpoints: p.checkpoints,
    apply: (events: readonly PositionedMemoryEvent[]) => {
      const first = events[0]?.position;
      const attrs = { 'engram.projection': p.name, 'engram.events': events.length, ...(first ? { 'engram.partition': first.partition, 'engram.offset': first.offset } : {}) };
      const keys = (): string[] => events.map((e) => memoryPositionKey(e.position.partition, e.position.offset));
      return withSpanFrom('engram.projection.apply', attrs, keys, async () => {
        const start = performance.now();
        await p.apply(events);
        recordProjection(p.name, events.length, (performance.now() - start) / 1000);
      });
    },
    reset: () => p.reset(),
  };
}

/** The projections with a span and the projection metrics around each `apply`. */
export function instrumentProjections(projections: readonly Projection[]): Projection[] {
  return projections.map(instrumentProjection);
}

/** Lag of each projection (by name): memory events not yet applied, over every partition. */
export function projectorLagSource(log: EventLog, projections: readonly Projection[]): () => Promise<Record<string, number>> {
  return async () => {
    const out: Record<string, number> = {};
    const partitions = await log.partitions(TOPICS.memory);
    for (const p of projections) {
      let lag = 0;
      for (let i = 0; i < partitions; i++) {
        lag += Math.max(0, (await log.endOffset(TOPICS.memory, i)) - (await p.checkpoints.checkpoint(p.name, TOPICS.memory, i)));
      }
      out[p.name] = lag;
    }
    return out;
  };
}

/** What the lag source needs of the embedded engine (structural, to keep this module below apps/). */
export interface LagSourceEngine {
  readonly bridge: { lag(): Promise<number> };
  readonly projectors: { readonly projections: readonly Projection[] };
  readonly ports: { readonly log: EventLog; readonly runner: { pendingInputs(): number } };
}

/** Lag of the embedded engine: the ingest bridge, the workflow inboxes, and each projection. */
export function engineLagSource(engine: LagSourceEngine): () => Promise<Record<string, number>> {
  const projectors = projectorLagSource(engine.ports.log, engine.projectors.projections);
  return async () => ({
    'ingest-bridge': await engine.bridge.lag(),
    workflows: engine.ports.runner.pendingInputs(),
    ...(await projectors()),
  });
}

/** Registers the engine's consumer lag with the `engram_consumer_lag` gauge; returns the unregister. */
export function registerEngineMetrics(engine: LagSourceEngine): () => void {
  return registerLagSource(engineLagSource(engine));
}
