/**
 * The embedded Orchestrator: a durable, journaled runner of per-key workflows in the style of
 * Temporal, over its own SQLite file.
 *
 * - `signal` is the durable hand-off: inputs land in the workflow's inbox, deduplicated by input id
 *   (also against inputs already done, which are remembered).
 * - `runBatch` fixes a batch of inbox inputs when it first starts, so a restart re-runs the same
 *   batch. Every activity call is journaled by (workflow, batch, call sequence) with its JSON result;
 *   a re-run returns journaled results without executing the activity again, and the first
 *   unjournaled call executes for real. Completing the batch atomically stores the new state, marks
 *   the inputs done and drops the journal. Results are journaled as JSON with float32 arrays
 *   (embeddings) packed in base64; journals of earlier versions (plain JSON) are still read.
 * - `runBatches` runs many workflows until their inboxes are empty, batches of different workflows
 *   overlapping (one workflow never has two), with the effects that share a log kept in the order
 *   of a one-by-one run.
 *
 * Activities are at-least-once (a crash between an activity's effect and its journal entry re-runs
 * it once), so they must be idempotent, as with Temporal. Workflow functions must be deterministic
 * and should let activity errors propagate: failed calls are not journaled, the batch is retried.
 */
import type { Statement } from 'better-sqlite3';
import { EngramError, ValidationError } from '../../core/errors.js';
import type { Clock } from '../../core/random.js';
import { systemClock } from '../../core/random.js';
import type { Db } from '../sqlite/open.js';
import { guardSqlite, openDatabase } from '../sqlite/open.js';

/** Activities: one JSON input, a JSON result. `never` accepts any parameter type (contravariance). */
export type ActivityFns<A> = { [K in keyof A]: (input: never) => Promise<unknown> };

/** What a workflow function sees for one batch. */
export interface WorkflowContext<S, I, A> {
  readonly workflowId: string;
  /** The batch's sequence number for this workflow (1, 2, …); stable across re-runs. */
  readonly batchSeq: number;
  /** When the batch first started (ms); stable across re-runs, so workflows need no clock. */
  readonly startedAt: number;
  /** The state the previous batch returned, or null before the first batch. */
  readonly state: S | null;
  /** The batch's input payloads, in inbox order. */
  readonly inputs: readonly I[];
  /** The batch's input ids, parallel to `inputs`. */
  readonly inputIds: readonly string[];
  /** Journaled proxies of the activities: call these, never the activities directly. */
  readonly activities: A;
}

/** Options of `DurableRunner.open`. */
export interface DurableRunnerOptions {
  readonly clock?: Clock;
}

/** Options of `DurableRunner.runBatches`. */
export interface RunBatchesOptions<A> {
  /** Batches in flight at once (1: one after another). */
  readonly concurrency: number;
  /** Activities whose calls may overlap other calls (their work happens elsewhere or touches nothing shared). */
  readonly parallel?: readonly (keyof A & string)[];
  /** Activities whose calls wait for every batch started earlier to finish (appends to a shared log). */
  readonly ordered?: readonly (keyof A & string)[];
  /**
   * Called after each batch that did not fail (also when there was nothing to run), one at a time
   * with the calls of activities that are not parallel (it may use the same stores).
   */
  readonly onBatch?: (workflowId: string, result: { ran: boolean; inputs: number }) => void | Promise<void>;
}

/** A batch stopped before an ordered call because an earlier batch failed; it stays pending. */
class BatchStopped extends EngramError {
  constructor(workflowId: string) {
    super(`workflow ${workflowId} stopped: an earlier batch failed`, { code: 'stopped', retriable: true, details: { workflowId } });
  }
}

/** Replay found a different activity at a journaled position: the workflow code is not deterministic. */
export class NondeterminismError extends EngramError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, { code: 'nondeterminism', retriable: false, details });
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS workflows (
  id TEXT PRIMARY KEY,
  state TEXT,
  last_batch INTEGER NOT NULL DEFAULT 0,
  open_batch INTEGER,
  batch_started_at INTEGER,
  updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
  seq INTEGER PRIMARY KEY,
  workflow_id TEXT NOT NULL,
  input_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  batch INTEGER,
  enqueued_at INTEGER NOT NULL,
  UNIQUE (workflow_id, input_id)
) STRICT;
CREATE INDEX IF NOT EXISTS inbox_by_workflow ON inbox (workflow_id, seq);
CREATE TABLE IF NOT EXISTS done_inputs (
  workflow_id TEXT NOT NULL,
  input_id TEXT NOT NULL,
  batch INTEGER NOT NULL,
  PRIMARY KEY (workflow_id, input_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS journal (
  workflow_id TEXT NOT NULL,
  batch INTEGER NOT NULL,
  call_seq INTEGER NOT NULL,
  activity TEXT NOT NULL,
  result TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  PRIMARY KEY (workflow_id, batch, call_seq)
) STRICT, WITHOUT ROWID;
`;

const MAX_ID = 512;

interface WorkflowRow {
  state: string | null;
  last_batch: number;
  open_batch: number | null;
  batch_started_at: number | null;
}

interface OpenBatch {
  batch: number;
  startedAt: number;
  state: string | null;
  inputIds: string[];
  payloads: string[];
  journal: Map<number, { activity: string; result: string }>;
}

function checkId(what: string, id: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID) {
    throw new ValidationError(`${what} must be a non-empty string of at most ${MAX_ID} characters`, { [what]: id });
  }
}

/**
 * Journal text. Activity results carry embeddings (hundreds of float32 numbers each, passed from
 * stage to stage), and printing and parsing them as JSON numbers was most of the journal's cost,
 * so the journal writes JSON in which every array of at least `PACKED_MIN` finite float32 numbers
 * is a string of their little-endian bytes in base64, marked by a leading NUL (strings that really
 * begin with NUL get a second one). Decoding gives exactly what a JSON round trip of the value
 * would (-0 becomes 0, as in JSON). The text starts with `PACKED_TAG` so that it cannot be taken
 * for the plain JSON of earlier versions, which is still read (`{"v": value}`).
 */
const PACKED_TAG = 'f32;';
const PACKED_MIN = 16;
const NUL = '\u0000';
const PACKED = `${NUL}f32:`;

/** JSON.stringify replacer: float32 arrays to packed strings, NUL-led strings escaped. */
function packFloats(_key: string, value: unknown): unknown {
  if (typeof value === 'string') return value.charCodeAt(0) === 0 ? NUL + value : value;
  if (!Array.isArray(value) || value.length < PACKED_MIN) return value;
  const packed = new Float32Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const x: unknown = value[i];
    // Holes, non-numbers, non-finite numbers (null in JSON) and doubles stay JSON.
    if (typeof x !== 'number' || Math.fround(x) !== x || !Number.isFinite(x)) return value;
    packed[i] = x === 0 ? 0 : x;
  }
  return PACKED + Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString('base64');
}

/** The value of a packed or escaped string. */
function unpackString(text: string): unknown {
  if (!text.startsWith(PACKED)) return text.slice(1);
  const bytes = Buffer.from(text.slice(PACKED.length), 'base64');
  // Copied out: the decoded bytes may not be 4-byte aligned inside Buffer's pool.
  const floats = new Float32Array(new Uint8Array(bytes).buffer);
  // An indexed copy: Array.from iterates (one result object per element).
  const out = new Array<number>(floats.length);
  for (let i = 0; i < floats.length; i++) out[i] = floats[i] as number;
  return out;
}

/** Replaces packed and escaped strings in freshly parsed JSON, in place (returns the value). */
function unpackFloats(value: unknown): unknown {
  if (typeof value === 'string') return value.charCodeAt(0) === 0 ? unpackString(value) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const x: unknown = value[i];
      if (typeof x === 'string') {
        if (x.charCodeAt(0) === 0) value[i] = unpackString(x);
      } else if (typeof x === 'object' && x !== null) unpackFloats(x);
    }
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const x = record[key];
    if (typeof x === 'string') {
      // An own "__proto__" (JSON.parse makes one) must stay an own property, not become the prototype.
      if (x.charCodeAt(0) === 0) Object.defineProperty(record, key, { value: unpackString(x), writable: true, enumerable: true, configurable: true });
    } else if (typeof x === 'object' && x !== null) unpackFloats(x);
  }
  return value;
}

/** Journal text of a value (see PACKED_TAG); throws TypeError for values JSON cannot hold. */
export function encodeJournalValue(value: unknown): string {
  // Wrapped, so that `undefined` stays distinct from null.
  return PACKED_TAG + JSON.stringify({ v: value }, packFloats);
}

/** The value of journal text, packed or in the plain JSON of earlier versions. */
export function decodeJournalValue(text: string): unknown {
  if (!text.startsWith(PACKED_TAG)) return (JSON.parse(text) as { v?: unknown }).v;
  return unpackFloats((JSON.parse(text.slice(PACKED_TAG.length)) as { v?: unknown }).v);
}

/** Journal text of an activity's result. */
function encodeResult(activity: string, value: unknown): string {
  try {
    return encodeJournalValue(value);
  } catch (cause) {
    throw new ValidationError(`activity ${activity} returned a value that is not JSON: ${(cause as Error).message}`);
  }
}

function decodeResult(text: string): unknown {
  return decodeJournalValue(text);
}

/** A JSON round trip (packed), so a live run sees exactly what a replay (or Temporal's converter) would. */
function jsonClone(what: string, value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    return decodeJournalValue(encodeJournalValue(value));
  } catch (cause) {
    throw new ValidationError(`${what} is not JSON: ${(cause as Error).message}`);
  }
}

/** A durable, journaled runner of per-key workflows over one SQLite file. */
export class DurableRunner {
  private readonly running = new Set<string>();
  private readonly stmts: {
    wfGet: Statement<[string], WorkflowRow>;
    wfEnsure: Statement<[string, number]>;
    wfStart: Statement<[number, number, number, number, string]>;
    wfComplete: Statement<[string | null, number, string, number]>;
    doneHas: Statement<[string, string], { one: number }>;
    inboxInsert: Statement<[string, string, string, number]>;
    inboxFree: Statement<[string, number], { seq: number }>;
    inboxAssign: Statement<[number, number]>;
    inboxBatch: Statement<[string, number], { input_id: string; payload: string }>;
    inboxToDone: Statement<[string, number]>;
    inboxDrop: Statement<[string, number]>;
    pending: Statement<[], { workflow_id: string }>;
    hasWork: Statement<[string], { one: number }>;
    journalGet: Statement<[string, number], { call_seq: number; activity: string; result: string }>;
    journalPut: Statement<[string, number, number, string, string, number]>;
    journalDrop: Statement<[string, number]>;
  };

  private constructor(
    private readonly db: Db,
    private readonly path: string,
    private readonly clock: Clock,
  ) {
    guardSqlite(path, () => db.exec(SCHEMA));
    this.stmts = guardSqlite(path, () => ({
      wfGet: db.prepare<[string], WorkflowRow>(
        'SELECT state, last_batch, open_batch, batch_started_at FROM workflows WHERE id = ?',
      ),
      wfEnsure: db.prepare<[string, number]>('INSERT OR IGNORE INTO workflows (id, updated_at) VALUES (?, ?)'),
      wfStart: db.prepare<[number, number, number, number, string]>(
        'UPDATE workflows SET last_batch = ?, open_batch = ?, batch_started_at = ?, updated_at = ? WHERE id = ?',
      ),
      wfComplete: db.prepare<[string | null, number, string, number]>(
        `UPDATE workflows SET state = ?, open_batch = NULL, batch_started_at = NULL, updated_at = ?
         WHERE id = ? AND open_batch = ?`,
      ),
      doneHas: db.prepare<[string, string], { one: number }>(
        'SELECT 1 AS one FROM done_inputs WHERE workflow_id = ? AND input_id = ?',
      ),
      inboxInsert: db.prepare<[string, string, string, number]>(
        'INSERT OR IGNORE INTO inbox (workflow_id, input_id, payload, enqueued_at) VALUES (?, ?, ?, ?)',
      ),
      inboxFree: db.prepare<[string, number], { seq: number }>(
        'SELECT seq FROM inbox WHERE workflow_id = ? AND batch IS NULL ORDER BY seq LIMIT ?',
      ),
      inboxAssign: db.prepare<[number, number]>('UPDATE inbox SET batch = ? WHERE seq = ?'),
      inboxBatch: db.prepare<[string, number], { input_id: string; payload: string }>(
        'SELECT input_id, payload FROM inbox WHERE workflow_id = ? AND batch = ? ORDER BY seq',
      ),
      inboxToDone: db.prepare<[string, number]>(
        `INSERT OR IGNORE INTO done_inputs (workflow_id, input_id, batch)
         SELECT workflow_id, input_id, batch FROM inbox WHERE workflow_id = ? AND batch = ?`,
      ),
      inboxDrop: db.prepare<[string, number]>('DELETE FROM inbox WHERE workflow_id = ? AND batch = ?'),
      pending: db.prepare<[], { workflow_id: string }>(
        'SELECT workflow_id FROM inbox GROUP BY workflow_id ORDER BY min(seq)',
      ),
      hasWork: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM inbox WHERE workflow_id = ? LIMIT 1'),
      journalGet: db.prepare<[string, number], { call_seq: number; activity: string; result: string }>(
        'SELECT call_seq, activity, result FROM journal WHERE workflow_id = ? AND batch = ?',
      ),
      journalPut: db.prepare<[string, number, number, string, string, number]>(
        'INSERT INTO journal (workflow_id, batch, call_seq, activity, result, recorded_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      journalDrop: db.prepare<[string, number]>('DELETE FROM journal WHERE workflow_id = ? AND batch = ?'),
    }));
  }

  /** Opens (creating if needed) a runner over a SQLite file. */
  static open(path: string, opts: DurableRunnerOptions = {}): DurableRunner {
    return new DurableRunner(openDatabase(path), path, opts.clock ?? systemClock);
  }

  /** Durable hand-off: enqueues inputs to a workflow's inbox, deduplicated by id. Returns how many were new. */
  signal(workflowId: string, inputs: readonly { readonly id: string; readonly payload: unknown }[]): number {
    checkId('workflowId', workflowId);
    const rows = inputs.map((input) => {
      checkId('input id', input.id);
      const payload = JSON.stringify(input.payload === undefined ? null : input.payload);
      return { id: input.id, payload };
    });
    const now = Math.trunc(this.clock.now());
    return guardSqlite(this.path, () =>
      this.db.transaction(() => {
        let added = 0;
        for (const row of rows) {
          if (this.stmts.doneHas.get(workflowId, row.id)) continue;
          added += this.stmts.inboxInsert.run(workflowId, row.id, row.payload, now).changes;
        }
        return added;
      })(),
    );
  }

  /** Inputs handed off but not yet completed, over all workflows. */
  pendingInputs(): number {
    return guardSqlite(this.path, () => (this.db.prepare('SELECT count(*) AS n FROM inbox').get() as { n: number }).n);
  }

  /** Every workflow id the runner has seen, sorted. */
  workflows(): string[] {
    return guardSqlite(this.path, () =>
      (this.db.prepare('SELECT id FROM workflows ORDER BY id').all() as { id: string }[]).map((r) => r.id),
    );
  }

  /** Workflow ids with pending inputs or an unfinished batch, longest-waiting first. */
  pending(): string[] {
    return guardSqlite(this.path, () => this.stmts.pending.all().map((r) => r.workflow_id));
  }

  /**
   * Runs one batch of one workflow: the unfinished batch if there is one, otherwise a new batch of
   * up to `maxBatch` inbox inputs. Activity calls are journaled; the state `fn` returns is stored
   * with the batch's completion. A throwing `fn` leaves the batch pending and rethrows.
   */
  async runBatch<S, I, A extends ActivityFns<A>>(
    workflowId: string,
    fn: (ctx: WorkflowContext<S, I, A>) => Promise<S>,
    activities: A,
    maxBatch: number,
  ): Promise<{ ran: boolean; inputs: number }> {
    checkId('workflowId', workflowId);
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
      throw new ValidationError(`maxBatch must be a positive integer, got ${maxBatch}`);
    }
    if (this.running.has(workflowId)) {
      // One runner per workflow at a time: two would race on the same journal positions.
      throw new EngramError(`workflow ${workflowId} is already running a batch`, {
        code: 'busy',
        retriable: true,
        details: { workflowId },
      });
    }
    this.running.add(workflowId);
    try {
      const open = this.openBatch(workflowId, maxBatch);
      if (!open) return { ran: false, inputs: 0 };
      const { batch } = open;
      let nextCall = 0;
      let sealed = false;
      const inFlight = new Set<Promise<unknown>>();
      const call = async (name: string, impl: (input: never) => Promise<unknown>, input: unknown): Promise<unknown> => {
        if (sealed) {
          throw new ValidationError(`workflow ${workflowId} called activity ${name} after its batch ended`, {
            workflowId,
            batch,
          });
        }
        const seq = nextCall++;
        const recorded = open.journal.get(seq);
        if (recorded) {
          if (recorded.activity !== name) {
            throw new NondeterminismError(
              `workflow ${workflowId} batch ${batch} call ${seq}: journal has activity ${recorded.activity}, code called ${name}`,
              { workflowId, batch, callSeq: seq, journaled: recorded.activity, called: name },
            );
          }
          return decodeResult(recorded.result);
        }
        const arg = jsonClone(`input of activity ${name}`, input);
        // The activity's declared input type is erased here; the proxy's typing enforces it.
        const running = impl(arg as never);
        inFlight.add(running);
        let result: unknown;
        try {
          result = await running;
        } finally {
          inFlight.delete(running);
        }
        const text = encodeResult(name, result);
        guardSqlite(this.path, () =>
          this.stmts.journalPut.run(workflowId, batch, seq, name, text, Math.trunc(this.clock.now())),
        );
        return decodeResult(text);
      };
      const proxy: Record<string, (input: unknown) => Promise<unknown>> = {};
      for (const name of Object.keys(activities)) {
        const impl = (activities as Record<string, (input: never) => Promise<unknown>>)[name]!;
        proxy[name] = (input: unknown) => call(name, impl, input);
      }
      const ctx: WorkflowContext<S, I, A> = {
        workflowId,
        batchSeq: batch,
        startedAt: open.startedAt,
        state: open.state === null ? null : (JSON.parse(open.state) as S),
        inputs: open.payloads.map((p) => JSON.parse(p) as I),
        inputIds: open.inputIds,
        // The proxy has exactly the activities' keys and call signatures.
        activities: proxy as unknown as A,
      };
      let next: S;
      try {
        next = await fn(ctx);
      } catch (err) {
        // Calls still running (e.g. siblings in a Promise.all) settle and journal before a retry can start.
        sealed = true;
        await Promise.allSettled([...inFlight]);
        throw err;
      }
      sealed = true;
      if (inFlight.size > 0) {
        // Let the floating calls settle (and journal) so a retry does not run them twice.
        const floating = inFlight.size;
        await Promise.allSettled([...inFlight]);
        throw new ValidationError(
          `workflow ${workflowId} returned while ${floating} activity call(s) were still running; await every call`,
          { workflowId, batch },
        );
      }
      for (const seq of open.journal.keys()) {
        if (seq >= nextCall) {
          throw new NondeterminismError(
            `workflow ${workflowId} batch ${batch} finished after ${nextCall} calls but the journal has call ${seq}`,
            { workflowId, batch, callSeq: seq, journaled: open.journal.get(seq)?.activity, called: null },
          );
        }
      }
      const stateText = next === undefined ? null : encodeState(workflowId, next);
      this.completeBatch(workflowId, batch, stateText);
      return { ran: true, inputs: open.inputIds.length };
    } finally {
      this.running.delete(workflowId);
    }
  }

  /**
   * Runs the workflows in `workflowIds` (distinct ids) until their inboxes are empty, one batch
   * after another in rounds (a batch of each, then a batch of each that has more, ...), with up to
   * `opts.concurrency` batches of different workflows in flight; a workflow never has two. Every
   * batch is started in that fixed order, and the next one starts once the last one started is
   * waiting on a `parallel` activity (or has ended), so the next one's work overlaps the model's.
   *
   * Different workflows are independent, but activities share stores: calls of activities not
   * listed as `parallel` run one at a time (FIFO), as in a one-by-one run. Calls of `ordered`
   * activities (appends to a shared log) wait until every batch started earlier has ended, so
   * their effects land in exactly the order of a one-by-one run of the same rounds.
   *
   * On a failure no further batch starts; a batch started later that reaches an ordered call is
   * stopped there (it stays pending, as if it had not run); batches in flight settle; then the
   * failure of the earliest batch is thrown. Journaled (replayed) calls skip the waits.
   */
  async runBatches<S, I, A extends ActivityFns<A>>(
    workflowIds: readonly string[],
    fn: (ctx: WorkflowContext<S, I, A>) => Promise<S>,
    activities: A,
    maxBatch: number,
    opts: RunBatchesOptions<A>,
  ): Promise<{ ran: number; inputs: number }> {
    const concurrency = opts.concurrency;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new ValidationError(`concurrency must be a positive integer, got ${concurrency}`);
    }
    if (new Set(workflowIds).size !== workflowIds.length) throw new ValidationError('runBatches needs distinct workflow ids');
    const parallel = new Set<string>(opts.parallel ?? []);
    const ordered = new Set<string>(opts.ordered ?? []);
    let exclusive: Promise<void> = Promise.resolve();
    const oneAtATime = async <T>(run: () => Promise<T>): Promise<T> => {
      const previous = exclusive;
      let release = (): void => undefined;
      exclusive = new Promise<void>((resolve) => {
        release = resolve;
      });
      await previous;
      try {
        return await run();
      } finally {
        release();
      }
    };
    /** Batches started so far: `finished[i]` resolves once batches 0..i have all ended. */
    const finished: Promise<void>[] = [];
    let failedAt = Infinity;
    let failure: unknown = null;
    let ran = 0;
    let inputs = 0;
    /** Starts batch `i`; `handedOff` resolves when it first waits on a parallel activity. */
    const start = (i: number, workflowId: string): { settled: Promise<boolean>; handedOff: Promise<void> } => {
      const earlier = i === 0 ? Promise.resolve() : (finished[i - 1] as Promise<void>);
      let handOff = (): void => undefined;
      const handedOff = new Promise<void>((resolve) => {
        handOff = resolve;
      });
      const wrapped: Record<string, (input: never) => Promise<unknown>> = {};
      for (const name of Object.keys(activities)) {
        const impl = (activities as Record<string, (input: never) => Promise<unknown>>)[name]!;
        if (parallel.has(name)) {
          wrapped[name] = (input: never) => {
            const running = impl(input);
            handOff();
            return running;
          };
        } else if (!ordered.has(name)) {
          wrapped[name] = (input: never) => oneAtATime(() => impl(input));
        } else {
          wrapped[name] = async (input: never) => {
            await earlier;
            if (failedAt < i) throw new BatchStopped(workflowId);
            return oneAtATime(() => impl(input));
          };
        }
      }
      /** Whether the batch ran (false: nothing to run, stopped, or failed). */
      const settled = (async (): Promise<boolean> => {
        try {
          // The wrappers have exactly the activities' keys and call signatures.
          const result = await this.runBatch(workflowId, fn, wrapped as unknown as A, maxBatch);
          if (result.ran) ran++;
          inputs += result.inputs;
          if (opts.onBatch) await oneAtATime(async () => opts.onBatch?.(workflowId, result));
          return result.ran;
        } catch (err) {
          if (!(err instanceof BatchStopped) && i < failedAt) {
            failedAt = i;
            failure = err;
          }
          return false;
        }
      })();
      return { settled, handedOff };
    };
    const inFlight = new Set<Promise<boolean>>();
    const latest = new Map<string, Promise<boolean>>();
    let round = [...workflowIds];
    while (round.length > 0 && failedAt === Infinity) {
      const next: string[] = [];
      for (const workflowId of round) {
        const previous = latest.get(workflowId);
        // One batch per workflow at a time; after the first round, only workflows with more to do.
        if (previous && (!(await previous) || !this.hasWork(workflowId))) continue;
        while (inFlight.size >= concurrency) await Promise.race(inFlight);
        if (failedAt < Infinity) break;
        const i = finished.length;
        const { settled, handedOff } = start(i, workflowId);
        finished.push(i === 0 ? settled.then(() => undefined) : Promise.all([finished[i - 1], settled]).then(() => undefined));
        latest.set(workflowId, settled);
        inFlight.add(settled);
        void settled.then(() => inFlight.delete(settled));
        next.push(workflowId);
        // The main thread is this batch's until it waits on the model: start the next one then.
        await Promise.race([handedOff, settled]);
      }
      round = next;
    }
    await Promise.all(inFlight);
    if (failedAt < Infinity) throw failure;
    return { ran, inputs };
  }

  /** True when the workflow has inputs waiting or an unfinished batch. */
  private hasWork(workflowId: string): boolean {
    return guardSqlite(this.path, () => this.stmts.hasWork.get(workflowId) !== undefined);
  }

  /** The state the workflow's last completed batch returned, or null. */
  state<S>(workflowId: string): S | null {
    checkId('workflowId', workflowId);
    const row = guardSqlite(this.path, () => this.stmts.wfGet.get(workflowId));
    return row?.state == null ? null : (JSON.parse(row.state) as S);
  }

  /** Closes the database. */
  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Loads the unfinished batch, or fixes a new one from the inbox (one transaction). */
  private openBatch(workflowId: string, maxBatch: number): OpenBatch | null {
    return guardSqlite(this.path, () =>
      this.db.transaction((): OpenBatch | null => {
        let wf = this.stmts.wfGet.get(workflowId);
        if (!wf || wf.open_batch === null) {
          const free = this.stmts.inboxFree.all(workflowId, maxBatch);
          if (free.length === 0) return null;
          const now = Math.trunc(this.clock.now());
          this.stmts.wfEnsure.run(workflowId, now);
          const batch = (this.stmts.wfGet.get(workflowId)?.last_batch ?? 0) + 1;
          this.stmts.wfStart.run(batch, batch, now, now, workflowId);
          for (const row of free) this.stmts.inboxAssign.run(batch, row.seq);
          wf = this.stmts.wfGet.get(workflowId);
        }
        if (!wf || wf.open_batch === null) return null;
        const batch = wf.open_batch;
        const inputs = this.stmts.inboxBatch.all(workflowId, batch);
        const journal = new Map<number, { activity: string; result: string }>();
        for (const row of this.stmts.journalGet.all(workflowId, batch)) {
          journal.set(row.call_seq, { activity: row.activity, result: row.result });
        }
        return {
          batch,
          startedAt: wf.batch_started_at ?? 0,
          state: wf.state,
          inputIds: inputs.map((r) => r.input_id),
          payloads: inputs.map((r) => r.payload),
          journal,
        };
      })(),
    );
  }

  /** Stores the new state, marks the batch's inputs done and drops its journal, atomically. */
  private completeBatch(workflowId: string, batch: number, stateText: string | null): void {
    guardSqlite(this.path, () =>
      this.db.transaction(() => {
        const changed = this.stmts.wfComplete.run(stateText, Math.trunc(this.clock.now()), workflowId, batch).changes;
        if (changed !== 1) {
          throw new EngramError(`workflow ${workflowId} batch ${batch} was completed by someone else`, {
            code: 'conflict',
            retriable: false,
            details: { workflowId, batch },
          });
        }
        this.stmts.inboxToDone.run(workflowId, batch);
        this.stmts.inboxDrop.run(workflowId, batch);
        this.stmts.journalDrop.run(workflowId, batch);
      })(),
    );
  }
}

function encodeState(workflowId: string, state: unknown): string {
  try {
    return JSON.stringify(state);
  } catch (cause) {
    throw new ValidationError(`state of workflow ${workflowId} is not JSON: ${(cause as Error).message}`);
  }
}
