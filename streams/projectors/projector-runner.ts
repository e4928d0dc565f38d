/**
 * Drives projections over `memory-events`: per partition, from each projection's own checkpoint,
 * decode, apply, then checkpoint. A fetch is read, opened (AES) and decoded once for all the
 * projections it serves, not once per projection, and the projections apply it side by side.
 * Undecodable records, and records a projection refuses with a non-retriable error, go to
 * `memory-events.dlq` once with a reason and are skipped, so one bad record never stalls the
 * read side.
 */
import { DecodeError, EngramError } from '../../core/errors.js';
import { TOPICS } from '../../core/model.js';
import type { EventLog, LogRecord } from '../../core/ports.js';
import { decodeMemoryEvent } from '../../schemas/codec.js';
import { RecordSealer, type OpenResult } from '../record-sealer.js';
import type { PositionedMemoryEvent, Projection } from './projection.js';

/** Records opened and decoded between two turns of the event loop. */
const DECODE_SLICE = 512;

/**
 * Resolves on the next turn of the event loop: decoding a big fetch gives way now and then, so
 * that a projection still applying the previous fetch (the graph waits on its engine's threads)
 * gets its callbacks and issues its next statement.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

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
  /** The catch-up running or last run (see `catchUp`). */
  private catchingUp: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: EventLog,
    readonly projections: readonly Projection[],
    private readonly fetchSize = 512,
    private readonly sealer: RecordSealer = new RecordSealer(null),
  ) {}

  /**
   * Applies everything available to every projection (or the named ones); returns the number of
   * records applied. `fetchSize` overrides the records per fetch (a rebuild takes bigger batches);
   * `projections` stands in for the runner's own (a rebuild writes the graph from a worker thread).
   */
  catchUp(only?: readonly string[], fetchSize = this.fetchSize, projections: readonly Projection[] = this.projections): Promise<number> {
    // One catch-up at a time: two would apply the same records side by side, and a checkpoint
    // saved late by the slower one could move back.
    const run = this.catchingUp.then(() => this.catchUpNow(projections, only, fetchSize));
    this.catchingUp = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async catchUpNow(projections: readonly Projection[], only: readonly string[] | undefined, fetchSize: number): Promise<number> {
    let applied = 0;
    const partitions = await this.log.partitions(TOPICS.memory);
    const selected = projections.filter((p) => !only || only.includes(p.name));
    if (selected.length === 0) return 0;
    for (let p = 0; p < partitions; p++) applied += await this.drain(selected, p, fetchSize);
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
      if (behind.length === 0) return;
      const from = await this.checkpointsOf(behind, partition);
      const records = await this.log.read(TOPICS.memory, partition, Math.min(...from), this.fetchSize);
      if (records.length === 0) return;
      const { events, dead } = await this.decode(records);
      await this.deadLetter(dead);
      await this.applyFetch(behind, from, partition, records, events);
    }
  }

  /** Sum over projections and partitions of records not yet applied. */
  async lag(projections: readonly Projection[] = this.projections): Promise<number> {
    let lag = 0;
    const partitions = await this.log.partitions(TOPICS.memory);
    for (const projection of projections) {
      for (let p = 0; p < partitions; p++) {
        const end = await this.log.endOffset(TOPICS.memory, p);
        lag += end - (await projection.checkpoints.checkpoint(projection.name, TOPICS.memory, p));
      }
    }
    return lag;
  }

  /**
   * Applies a partition up to its end, from the lowest checkpoint. A fetch is read, opened and
   * decoded once for all the projections; the next fetch is read and decoded while the projections
   * still apply the previous one (the graph projection waits on its own engine's threads, so this
   * overlaps). Returns the records applied, summed over the projections.
   */
  private async drain(projections: readonly Projection[], partition: number, fetchSize: number): Promise<number> {
    let from = await this.checkpointsOf(projections, partition);
    let applied = 0;
    let inflight: Promise<number> = Promise.resolve(0);
    try {
      for (let cursor = Math.min(...from); ; ) {
        const records = await this.log.read(TOPICS.memory, partition, cursor, fetchSize);
        if (records.length === 0) break;
        const { events, dead } = await this.decode(records);
        applied += await inflight;
        // Dead letters stay in log order: those of this fetch after everything before it.
        await this.deadLetter(dead);
        const next = (records[records.length - 1] as LogRecord).offset + 1;
        inflight = this.applyFetch(projections, from, partition, records, events);
        // Awaited only after the next fetch is decoded: its failure must not count as unhandled meanwhile.
        inflight.catch(() => undefined);
        from = from.map((cp) => Math.max(cp, next));
        cursor = next;
      }
      applied += await inflight;
    } catch (err) {
      // A fetch may still be applying: let it settle first (each projection's checkpoint stays
      // where its effect stopped), then the error goes on.
      await inflight.catch(() => undefined);
      throw err;
    }
    return applied;
  }

  /** The checkpoint of each projection for a partition. */
  private checkpointsOf(projections: readonly Projection[], partition: number): Promise<number[]> {
    return Promise.all(projections.map((p) => p.checkpoints.checkpoint(p.name, TOPICS.memory, partition)));
  }

  /**
   * Opens and decodes a fetch; undecodable records come back as dead letters. Yields to the event
   * loop between slices, so that a projection applying the previous fetch is not starved.
   */
  private async decode(records: readonly LogRecord[]): Promise<{ events: PositionedMemoryEvent[]; dead: DeadLetter[] }> {
    const events: PositionedMemoryEvent[] = [];
    const dead: DeadLetter[] = [];
    for (let i = 0; i < records.length; i += DECODE_SLICE) {
      if (i > 0) await nextTurn();
      const slice = records.slice(i, i + DECODE_SLICE);
      const opened = await this.sealer.openAll(slice);
      for (const [j, r] of slice.entries()) {
        const o = opened[j] as OpenResult;
        try {
          if (!o.ok) throw o.error;
          // A record whose key an erasure destroyed is skipped: its memory's tombstone follows it.
          if (o.opened.erased) continue;
          // Bytes that authenticated under our key are our own encoding: no bounds walk needed.
          const event = decodeMemoryEvent(o.opened.bytes, { trusted: o.authenticated });
          events.push({ event, position: { topic: r.topic, partition: r.partition, offset: r.offset } });
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          dead.push({ record: r, code: 'undecodable', reason: err.message });
        }
      }
    }
    return { events, dead };
  }

  /**
   * Applies a decoded fetch to several projections of a partition at once (they write to
   * different stores); each applies the events past its own checkpoint `from[i]`, then
   * checkpoints. Returns the records applied, summed over the projections.
   */
  private async applyFetch(
    projections: readonly Projection[],
    from: readonly number[],
    partition: number,
    records: readonly LogRecord[],
    events: readonly PositionedMemoryEvent[],
  ): Promise<number> {
    const next = (records[records.length - 1] as LogRecord).offset + 1;
    const first = (records[0] as LogRecord).offset;
    const settled = await Promise.allSettled(
      projections.map(async (projection, i) => {
        const cp = from[i] as number;
        if (cp >= next) return 0;
        const batch = cp <= first ? events : events.filter((e) => e.position.offset >= cp);
        await this.applyOne(projection, batch, records);
        await projection.checkpoints.saveCheckpoint(projection.name, TOPICS.memory, partition, next);
        return cp <= first ? records.length : records.filter((r) => r.offset >= cp).length;
      }),
    );
    let total = 0;
    for (const s of settled) {
      // Every projection has settled (its effect and checkpoint agree) before the first error goes on.
      if (s.status === 'rejected') throw s.reason;
      total += s.value;
    }
    return total;
  }

  /** Applies a batch; a record the projection refuses (non-retriable) is found and dead-lettered. */
  private async applyOne(projection: Projection, batch: readonly PositionedMemoryEvent[], records: readonly LogRecord[]): Promise<void> {
    try {
      await projection.apply(batch);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      // One event this projection can never take: find it (apply is idempotent), dead-letter it, go on.
      const byOffset = new Map(records.map((r) => [r.offset, r]));
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
