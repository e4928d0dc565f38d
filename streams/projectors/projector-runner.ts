/**
 * Drives projections over `memory-events`: per partition, from each projection's own checkpoint,
 * decode, apply, then checkpoint. Undecodable records go to `memory-events.dlq` once and are
 * skipped, so one bad record never stalls the read side.
 */
import { DecodeError } from '../../core/errors.js';
import { TOPICS } from '../../core/model.js';
import type { EventLog, LogRecord } from '../../core/ports.js';
import { decodeMemoryEvent } from '../../schemas/codec.js';
import { RecordSealer } from '../record-sealer.js';
import type { PositionedMemoryEvent, Projection } from './projection.js';

export class ProjectorRunner {
  constructor(
    private readonly log: EventLog,
    readonly projections: readonly Projection[],
    private readonly fetchSize = 512,
    private readonly sealer: RecordSealer = new RecordSealer(null),
  ) {}

  /** Applies everything available to every projection; returns the number of records applied. */
  async catchUp(only?: readonly string[]): Promise<number> {
    let applied = 0;
    const partitions = await this.log.partitions(TOPICS.memory);
    for (const projection of this.projections) {
      if (only && !only.includes(projection.name)) continue;
      for (let p = 0; p < partitions; p++) applied += await this.catchUpPartition(projection, p);
    }
    return applied;
  }

  /** Brings the named projections of one partition up to at least `offset` (inclusive). */
  async ensure(partition: number, offset: number, only: readonly string[]): Promise<void> {
    for (const projection of this.projections) {
      if (!only.includes(projection.name)) continue;
      while ((await projection.checkpoints.checkpoint(projection.name, TOPICS.memory, partition)) <= offset) {
        if ((await this.catchUpPartition(projection, partition)) === 0) break;
      }
    }
  }

  /** Sum over projections and partitions of records not yet applied. */
  async lag(): Promise<number> {
    let lag = 0;
    const partitions = await this.log.partitions(TOPICS.memory);
    for (const projection of this.projections) {
      for (let p = 0; p < partitions; p++) {
        const end = await this.log.endOffset(TOPICS.memory, p);
        lag += end - (await projection.checkpoints.checkpoint(projection.name, TOPICS.memory, p));
      }
    }
    return lag;
  }

  private async catchUpPartition(projection: Projection, partition: number): Promise<number> {
    let total = 0;
    for (;;) {
      const from = await projection.checkpoints.checkpoint(projection.name, TOPICS.memory, partition);
      const records = await this.log.read(TOPICS.memory, partition, from, this.fetchSize);
      if (records.length === 0) return total;
      const events: PositionedMemoryEvent[] = [];
      const dead: LogRecord[] = [];
      for (const r of records) {
        try {
          // A record whose key an erasure destroyed is skipped: its memory's tombstone follows it.
          const opened = await this.sealer.open(r);
          if (opened.erased) continue;
          events.push({ event: decodeMemoryEvent(opened.bytes), position: { topic: r.topic, partition: r.partition, offset: r.offset } });
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          dead.push(r);
        }
      }
      if (dead.length > 0) {
        await this.log.append(
          TOPICS.memoryDlq,
          dead.map((r) => ({
            key: r.key,
            value: r.value,
            headers: { 'dlq-code': 'undecodable', 'dlq-source': `${r.topic}/${r.partition}/${r.offset}` },
            dedupKey: `${r.topic}/${r.partition}/${r.offset}`,
          })),
        );
      }
      await projection.apply(events);
      const last = records[records.length - 1] as LogRecord;
      await projection.checkpoints.saveCheckpoint(projection.name, TOPICS.memory, partition, last.offset + 1);
      total += records.length;
    }
  }
}
