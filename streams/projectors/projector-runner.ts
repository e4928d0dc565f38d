/**
 * Drives projections over `memory-events`: per partition, from each projection's own checkpoint,
 * decode, apply, then checkpoint. A fetch is read, opened (AES) and decoded once for all the
 * projections it serves, not once per projection. Undecodable records, and records a projection
 * refuses with a non-retriable error, go to `memory-events.dlq` once with a reason and are
 * skipped, so one bad record never stalls the read side.
 */
import { DecodeError, EngramError } from '../../core/errors.js';
import { TOPICS } from '../../core/model.js';
import type { EventLog, LogRecord } from '../../core/ports.js';
import { decodeMemoryEvent } from '../../schemas/codec.js';
import { RecordSealer } from '../record-sealer.js';
import type { PositionedMemoryEvent, Projection } from './projection.js';

/** A record set aside, with why. */
interface DeadLetter {
  readonly record: LogRecord;
  readonly code: 'undecodable' | 'refused';
  readonly reason: string;
}

/** An error that retrying the same event can never fix (a bad value), unlike a storage outage. */
function isRefusal(err: unknown): boolean {
  return err instanceof EngramError && !err.retriable;
}

export class ProjectorRunner {
  constructor(
    private readonly log: EventLog,
    readonly projections: readonly Projection[],
    private readonly fetchSize = 512,
    private readonly sealer: RecordSealer = new RecordSealer(null),
  ) {}

  /**
   * Applies everything available to every projection (or the named ones); returns the number of
   * records applied. `fetchSize` overrides the records per fetch (a rebuild takes bigger batches).
   */
  async catchUp(only?: readonly string[], fetchSize = this.fetchSize): Promise<number> {
    let applied = 0;
    const partitions = await this.log.partitions(TOPICS.memory);
    const selected = this.projections.filter((p) => !only || only.includes(p.name));
    if (selected.length === 0) return 0;
    for (let p = 0; p < partitions; p++) {
      for (;;) {
        const n = await this.step(selected, p, fetchSize);
        if (n === 0) break;
        applied += n;
      }
    }
    return applied;
  }

  /** Brings the named projections of one partition up to at least `offset` (inclusive). */
  async ensure(partition: number, offset: number, only: readonly string[]): Promise<void> {
    const selected = this.projections.filter((p) => only.includes(p.name));
    for (;;) {
      const behind: Projection[] = [];
      for (const projection of selected) {
        if ((await projection.checkpoints.checkpoint(projection.name, TOPICS.memory, partition)) <= offset) behind.push(projection);
      }
      if (behind.length === 0 || (await this.step(behind, partition, this.fetchSize)) === 0) return;
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

  /**
   * One fetch for several projections of a partition: the records from the lowest checkpoint are
   * read, opened and decoded once, and each projection applies those past its own checkpoint, then
   * checkpoints. Returns the records applied, summed over the projections (0 when all are caught up).
   */
  private async step(projections: readonly Projection[], partition: number, fetchSize: number): Promise<number> {
    const from = await Promise.all(projections.map((p) => p.checkpoints.checkpoint(p.name, TOPICS.memory, partition)));
    const records = await this.log.read(TOPICS.memory, partition, Math.min(...from), fetchSize);
    if (records.length === 0) return 0;
    const events: PositionedMemoryEvent[] = [];
    const dead: DeadLetter[] = [];
    for (const r of records) {
      try {
        // A record whose key an erasure destroyed is skipped: its memory's tombstone follows it.
        const opened = await this.sealer.open(r);
        if (opened.erased) continue;
        events.push({ event: decodeMemoryEvent(opened.bytes), position: { topic: r.topic, partition: r.partition, offset: r.offset } });
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        dead.push({ record: r, code: 'undecodable', reason: err.message });
      }
    }
    await this.deadLetter(dead);
    const next = (records[records.length - 1] as LogRecord).offset + 1;
    const byOffset = new Map(records.map((r) => [r.offset, r]));
    let total = 0;
    for (const [i, projection] of projections.entries()) {
      const cp = from[i] as number;
      if (cp >= next) continue;
      const batch = cp <= (records[0] as LogRecord).offset ? events : events.filter((e) => e.position.offset >= cp);
      try {
        await projection.apply(batch);
      } catch (err) {
        if (!isRefusal(err)) throw err;
        // One event this projection can never take: find it (apply is idempotent), dead-letter it, go on.
        const refused: DeadLetter[] = [];
        for (const e of batch) {
          try {
            await projection.apply([e]);
          } catch (one) {
            if (!isRefusal(one)) throw one;
            const record = byOffset.get(e.position.offset) as LogRecord;
            refused.push({ record, code: 'refused', reason: `${projection.name}: ${(one as Error).message}` });
          }
        }
        await this.deadLetter(refused);
      }
      await projection.checkpoints.saveCheckpoint(projection.name, TOPICS.memory, partition, next);
      total += records.filter((r) => r.offset >= cp).length;
    }
    return total;
  }

  /** Appends dead letters with their code and reason; once per record (the source is the dedup key). */
  private async deadLetter(dead: readonly DeadLetter[]): Promise<void> {
    if (dead.length === 0) return;
    await this.log.append(
      TOPICS.memoryDlq,
      dead.map(({ record: r, code, reason }) => ({
        key: r.key,
        value: r.value,
        headers: { 'dlq-code': code, 'dlq-reason': reason.slice(0, 1000), 'dlq-source': `${r.topic}/${r.partition}/${r.offset}` },
        dedupKey: `${r.topic}/${r.partition}/${r.offset}`,
      })),
    );
  }
}
