/**
 * The embedded EventLog: Kafka's model (topics, keyed partitions, dense offsets, consumer groups)
 * over one SQLite file. Records are partitioned exactly as Kafka's default partitioner does, so a
 * key lands in the same partition in both profiles.
 */
import type { Statement } from 'better-sqlite3';
import { ValidationError } from '../../core/errors.js';
import type { LogPosition } from '../../core/model.js';
import type { AppendRecord, EventLog, LogConsumer, LogRecord } from '../../core/ports.js';
import type { Clock } from '../../core/random.js';
import { systemClock } from '../../core/random.js';
import type { Db } from '../sqlite/open.js';
import { guardSqlite, openDatabase } from '../sqlite/open.js';
import { partitionForKey } from './partitioner.js';
import { checkCount, checkName, commitTargets } from '../log-checks.js';

// Kafka's legal topic names; group names follow the same rule here so they are safe everywhere.
const MAX_PARTITIONS = 10_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS topics (
  name TEXT PRIMARY KEY,
  partitions INTEGER NOT NULL CHECK (partitions > 0)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
  topic TEXT NOT NULL,
  "partition" INTEGER NOT NULL,
  "offset" INTEGER NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  headers TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  dedup_key TEXT,
  PRIMARY KEY (topic, "partition", "offset")
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS records_dedup ON records (topic, dedup_key) WHERE dedup_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS group_offsets (
  "group" TEXT NOT NULL,
  topic TEXT NOT NULL,
  "partition" INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  PRIMARY KEY ("group", topic, "partition")
) STRICT, WITHOUT ROWID;
`;

interface RecordRow {
  partition: number;
  offset: number;
  key: string;
  value: Buffer;
  headers: string;
  timestamp: number;
}



function toRecord(topic: string, row: RecordRow): LogRecord {
  // Values stay Buffers (a Uint8Array) so Avro decoders can take them without a copy.
  return {
    topic,
    partition: row.partition,
    offset: row.offset,
    key: row.key,
    value: row.value,
    headers: JSON.parse(row.headers) as Record<string, string>,
    timestamp: row.timestamp,
  };
}

/** A SQLite-backed EventLog for the embedded profile. */
export class SqliteEventLog implements EventLog {
  private readonly topicCache = new Map<string, number>();
  private readonly stmts: {
    topicGet: Statement<[string], { partitions: number }>;
    topicInsert: Statement<[string, number]>;
    lastOffset: Statement<[string, number], { offset: number }>;
    dedupGet: Statement<[string, string], { partition: number; offset: number }>;
    insert: Statement<[string, number, number, string, Buffer, string, number, string | null]>;
    read: Statement<[string, number, number, number], RecordRow>;
    groupGet: Statement<[string, string], { partition: number; next_offset: number }>;
    groupCommit: Statement<[string, string, number, number]>;
  };
  private readonly appendTx: (topic: string, partitions: number, records: readonly AppendRecord[]) => LogPosition[];

  /** Wraps an open database; `open(path)` is the usual entry point. */
  constructor(
    private readonly db: Db,
    private readonly path: string,
    private readonly clock: Clock = systemClock,
  ) {
    guardSqlite(path, () => db.exec(SCHEMA));
    this.stmts = guardSqlite(path, () => ({
      topicGet: db.prepare<[string], { partitions: number }>('SELECT partitions FROM topics WHERE name = ?'),
      topicInsert: db.prepare<[string, number]>('INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)'),
      lastOffset: db.prepare<[string, number], { offset: number }>(
        'SELECT "offset" FROM records WHERE topic = ? AND "partition" = ? ORDER BY "offset" DESC LIMIT 1',
      ),
      dedupGet: db.prepare<[string, string], { partition: number; offset: number }>(
        'SELECT "partition", "offset" FROM records WHERE topic = ? AND dedup_key = ?',
      ),
      insert: db.prepare<[string, number, number, string, Buffer, string, number, string | null]>(
        `INSERT INTO records (topic, "partition", "offset", key, value, headers, timestamp, dedup_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      read: db.prepare<[string, number, number, number], RecordRow>(
        `SELECT "partition", "offset", key, value, headers, timestamp FROM records
         WHERE topic = ? AND "partition" = ? AND "offset" >= ? ORDER BY "offset" LIMIT ?`,
      ),
      groupGet: db.prepare<[string, string], { partition: number; next_offset: number }>(
        'SELECT "partition", next_offset FROM group_offsets WHERE "group" = ? AND topic = ?',
      ),
      groupCommit: db.prepare<[string, string, number, number]>(
        `INSERT INTO group_offsets ("group", topic, "partition", next_offset) VALUES (?, ?, ?, ?)
         ON CONFLICT ("group", topic, "partition")
         DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)`,
      ),
    }));
    this.appendTx = db.transaction((topic: string, partitions: number, records: readonly AppendRecord[]) => {
      // Next offset per partition, looked up once per transaction.
      const next = new Map<number, number>();
      const now = Math.trunc(this.clock.now());
      const out: LogPosition[] = [];
      for (const r of records) {
        if (r.dedupKey !== undefined) {
          const seen = this.stmts.dedupGet.get(topic, r.dedupKey);
          if (seen) {
            out.push({ topic, partition: seen.partition, offset: seen.offset });
            continue;
          }
        }
        const partition = partitionForKey(r.key, partitions);
        const offset = next.get(partition) ?? this.endOffsetSync(topic, partition);
        const value = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
        this.stmts.insert.run(topic, partition, offset, r.key, value, JSON.stringify(r.headers ?? {}), now, r.dedupKey ?? null);
        next.set(partition, offset + 1);
        out.push({ topic, partition, offset });
      }
      return out;
    });
  }

  /** Opens (creating if needed) the log in a SQLite file. */
  static open(path: string, opts: { clock?: Clock } = {}): SqliteEventLog {
    return new SqliteEventLog(openDatabase(path), path, opts.clock ?? systemClock);
  }

  /** Creates the topic, or checks that it already has this many partitions. */
  async ensureTopic(topic: string, partitions: number): Promise<void> {
    checkName('topic', topic);
    checkCount('partitions', partitions, 1);
    if (partitions > MAX_PARTITIONS) throw new ValidationError(`at most ${MAX_PARTITIONS} partitions, got ${partitions}`);
    const existing = guardSqlite(this.path, () => {
      this.stmts.topicInsert.run(topic, partitions);
      return this.stmts.topicGet.get(topic)?.partitions;
    });
    if (existing !== partitions) {
      throw new ValidationError(`topic ${topic} has ${existing} partitions, not ${partitions}`, {
        topic,
        partitions: existing,
        requested: partitions,
      });
    }
    this.topicCache.set(topic, partitions);
  }

  /** Appends in one transaction; a record whose dedupKey is already in the topic returns its position. */
  async append(topic: string, records: readonly AppendRecord[]): Promise<LogPosition[]> {
    const partitions = this.partitionsSync(topic);
    for (const r of records) {
      if (typeof r.key !== 'string') throw new ValidationError(`record key must be a string in topic ${topic}`);
      if (!(r.value instanceof Uint8Array)) throw new ValidationError(`record value must be bytes in topic ${topic}`);
    }
    if (records.length === 0) return [];
    return guardSqlite(this.path, () => this.appendTx(topic, partitions, records));
  }

  /** Reads one partition from an offset, in offset order. */
  async read(topic: string, partition: number, fromOffset: number, max: number): Promise<LogRecord[]> {
    this.checkPartition(topic, partition);
    checkCount('fromOffset', fromOffset, 0);
    checkCount('max', max, 0);
    if (max === 0) return [];
    return this.readSync(topic, partition, fromOffset, max);
  }

  /** The topic's partition count; ValidationError when the topic does not exist. */
  async partitions(topic: string): Promise<number> {
    return this.partitionsSync(topic);
  }

  /** The offset the next record of that partition will get. */
  async endOffset(topic: string, partition: number): Promise<number> {
    this.checkPartition(topic, partition);
    return this.endOffsetSync(topic, partition);
  }

  /** A consumer of `topic` in consumer group `group`; offsets are stored in this log. */
  consumer(group: string, topic: string): LogConsumer {
    checkName('group', group);
    checkName('topic', topic);
    return new SqliteLogConsumer(this, group, topic);
  }

  /** Closes the database; the log cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  // ------------------------------------------------------------ internals shared with consumers

  /** @internal */
  partitionsSync(topic: string): number {
    checkName('topic', topic);
    const cached = this.topicCache.get(topic);
    if (cached !== undefined) return cached;
    const row = guardSqlite(this.path, () => this.stmts.topicGet.get(topic));
    if (!row) throw new ValidationError(`topic ${topic} does not exist`, { topic });
    // Partition counts never change, so a found topic can be cached for good.
    this.topicCache.set(topic, row.partitions);
    return row.partitions;
  }

  /** @internal */
  endOffsetSync(topic: string, partition: number): number {
    const row = guardSqlite(this.path, () => this.stmts.lastOffset.get(topic, partition));
    return row ? row.offset + 1 : 0;
  }

  /** @internal */
  readSync(topic: string, partition: number, fromOffset: number, max: number): LogRecord[] {
    const rows = guardSqlite(this.path, () => this.stmts.read.all(topic, partition, fromOffset, max));
    return rows.map((row) => toRecord(topic, row));
  }

  /** @internal Committed next offsets of a group, one entry per partition (0 when never committed). */
  committedSync(group: string, topic: string, partitions: number): number[] {
    const committed = new Array<number>(partitions).fill(0);
    for (const row of guardSqlite(this.path, () => this.stmts.groupGet.all(group, topic))) {
      if (row.partition < partitions) committed[row.partition] = row.next_offset;
    }
    return committed;
  }

  /** @internal Stores next offsets (never moving one backwards), in one transaction. */
  commitSync(group: string, topic: string, nextOffsets: ReadonlyMap<number, number>): void {
    guardSqlite(this.path, () =>
      this.db.transaction(() => {
        for (const [partition, next] of nextOffsets) this.stmts.groupCommit.run(group, topic, partition, next);
      })(),
    );
  }

  private checkPartition(topic: string, partition: number): void {
    const partitions = this.partitionsSync(topic);
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
      throw new ValidationError(`topic ${topic} has no partition ${partition}`, { topic, partition });
    }
  }
}

/** A consumer-group member over the SQLite log. Fetch re-delivers until commit (at-least-once). */
class SqliteLogConsumer implements LogConsumer {
  // Rotates which partition leads a fetch, so a small `max` cannot starve later partitions.
  private lead = 0;

  constructor(
    private readonly log: SqliteEventLog,
    private readonly group: string,
    private readonly topic: string,
  ) {}

  /** Up to `max` records past the committed offsets: round-robin over partitions, offset order within one. */
  async fetch(max: number): Promise<LogRecord[]> {
    checkCount('max', max, 0);
    const partitions = this.log.partitionsSync(this.topic);
    if (max === 0) return [];
    const positions = this.log.committedSync(this.group, this.topic, partitions);
    const lists: LogRecord[][] = Array.from({ length: partitions }, () => []);
    // Read a fair share from each partition; partitions that ran dry leave their share to the others.
    let active = Array.from({ length: partitions }, (_, p) => p);
    let total = 0;
    while (active.length > 0 && total < max) {
      const quota = Math.ceil((max - total) / active.length);
      const stillFull: number[] = [];
      for (const p of active) {
        const got = this.log.readSync(this.topic, p, positions[p]!, quota);
        lists[p]!.push(...got);
        positions[p]! += got.length;
        total += got.length;
        if (got.length === quota) stillFull.push(p);
      }
      active = stillFull;
    }
    const out: LogRecord[] = [];
    const cursors = new Array<number>(partitions).fill(0);
    const start = this.lead % partitions;
    this.lead = (start + 1) % partitions;
    for (let round = 0; out.length < max; round++) {
      let took = false;
      for (let i = 0; i < partitions && out.length < max; i++) {
        const p = (start + i) % partitions;
        const rec = lists[p]![cursors[p]!];
        if (rec) {
          out.push(rec);
          cursors[p]!++;
          took = true;
        }
      }
      if (!took) break;
    }
    return out;
  }

  /** Commits, per partition, max(offset)+1; never backwards, never past the partition's end. */
  async commit(records: readonly LogPosition[]): Promise<void> {
    const partitions = this.log.partitionsSync(this.topic);
    const next = commitTargets(this.topic, partitions, records);
    for (const [partition, n] of next) {
      const end = this.log.endOffsetSync(this.topic, partition);
      if (n > end) {
        throw new ValidationError(`offset ${n - 1} is past the end (${end}) of ${this.topic}/${partition}`, {
          topic: this.topic,
          partition,
        });
      }
    }
    if (next.size > 0) this.log.commitSync(this.group, this.topic, next);
  }

  /** Records not yet committed by this group, over all partitions. */
  async lag(): Promise<number> {
    const partitions = this.log.partitionsSync(this.topic);
    const committed = this.log.committedSync(this.group, this.topic, partitions);
    let lag = 0;
    for (let p = 0; p < partitions; p++) lag += this.log.endOffsetSync(this.topic, p) - committed[p]!;
    return lag;
  }
}
