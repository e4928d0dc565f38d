/**
 * The memory activities, built over injected ports (Temporal's samples style). Each activity takes
 * and returns plain JSON, so the durable runner and Temporal can journal the results; the algorithms
 * themselves are the pure cores next to this file.
 */
import type { Clock } from '../core/random.js';
import { seedOf } from '../core/random.js';
import type { LogPosition, Lesson, Triple } from '../core/model.js';
import { MESSAGE_ROLES, TOPICS } from '../core/model.js';
import type { AssociatedCandidate, CandidateUnit, EmbeddedCandidate, LifecycleCommand, ModelUsage, PlannedChange } from '../core/pipeline.js';
import { DEFAULT_FORGETTING, planDecay, type ForgettingOptions } from './forget/retention.js';
import type { EventLog, Embedder, LlmClient, MemoryState, MemoryStore, VectorIndex } from '../core/ports.js';
import { scopeKey, scopeOf, type Scope } from '../core/scope.js';
import { cosine, textHashOf } from '../core/text.js';
import { RecordSealer } from '../streams/record-sealer.js';
import { extract, type ExtractInput, type ExtractOutput } from './extract/extract.js';
import { associate } from './associate/associate.js';
import { consolidate, type Neighbour } from './consolidate/consolidate.js';
import { conflictKeysOf, resolveConflicts } from './conflicts/resolve.js';
import { factKeyOf } from './consolidate/claims.js';
import { planLifecycle } from './conflicts/lifecycle.js';
import { assessCandidate, DEFAULT_GUARD_OPTIONS, guard, type GuardVerdict, type ModelVote } from './guard/guard.js';
import { GUARD_VOTE_MAX_RELATED, GuardVoteSchema, guardVoteRequest, needsVote, voteSignal } from './llm/guard-vote.js';
import { callStructured } from './llm/structured.js';
import { planRescan, type RescanSubject } from './guard/rescan.js';
import { readSourceQuotes } from '../streams/source-quotes.js';
import { buildMemoryEvents, memoryFromCandidate, type FittedModel } from './commit/build-events.js';
import { judgeKeysOf } from './llm/judge.js';
import { extractWithLlm, judgeConflicts, judgeConsolidations } from './llm/stages.js';

/** What the activities need from the outside world. */
export interface ActivityDeps {
  readonly log: EventLog;
  readonly embedder: Embedder;
  readonly store: MemoryStore;
  readonly vectors: VectorIndex;
  readonly clock: Clock;
  /** Resolves once the read side (store and vector index) has applied the log up to `position`. */
  readonly awaitProjection: (position: LogPosition) => Promise<void>;
  /** Optional language model for extraction and judgements; without it the write path is offline. */
  readonly llm?: LlmClient | null;
  readonly options?: Partial<ActivityOptions>;
  /** Seals memory events under the user's keys and destroys keys on erasure; plain when absent. */
  readonly sealer?: RecordSealer;
}

export interface ActivityOptions {
  /** Similar active memories compared with each candidate. */
  neighbours: number;
  /** Active memories the associate stage fits on (most recent first). */
  historyLimit: number;
  /** Recorded as `provenance.model` on every memory: the offline heuristics have no model. */
  extractorModel: string;
  /** Cosine above which an earlier candidate of the batch is related to a later one (for the guard). */
  batchRelatedSimilarity: number;
  /** The forgetting curve: starting strength, reinforcement, archive floor. */
  forgetting: ForgettingOptions;
  /** A-MemGuard: off accepts every candidate (benchmarks measure the guard against it). */
  guard: { enabled: boolean; threshold: number };
}

const DEFAULTS: ActivityOptions = {
  neighbours: 8,
  historyLimit: 2000,
  extractorModel: 'engram-offline-extractor/1',
  batchRelatedSimilarity: 0.6,
  forgetting: DEFAULT_FORGETTING,
  guard: { enabled: true, threshold: DEFAULT_GUARD_OPTIONS.threshold },
};

/** An accepted candidate of the current batch, seen as the memory it is about to become. */
function batchState(scope: Scope, change: Extract<PlannedChange, { op: 'ADD' | 'UPDATE' }>): MemoryState {
  const id = change.op === 'ADD' ? change.candidate.id : change.targetId;
  const version = change.op === 'ADD' ? 1 : change.previousVersion + 1;
  return {
    memory: memoryFromCandidate(scope, change.candidate, id, version, change.candidate.validFrom, { runId: '', model: '', promptHash: '' }),
    status: 'active',
    version,
    quarantineReasons: [],
    decisionReason: change.reason,
    invalidatedBy: null,
    clusters: change.candidate.clusters,
    links: change.candidate.links,
  };
}

export interface ScopedInput {
  readonly tenantId: string;
  readonly userId: string;
  /** The last memory-event position this workflow committed: reads wait until it is projected. */
  readonly after: LogPosition | null;
}

export interface AssociateResult {
  readonly fitted: FittedModel | null;
  readonly candidates: AssociatedCandidate[];
}

export interface CommitInput extends ScopedInput {
  readonly batchId: string;
  readonly changes: PlannedChange[];
  readonly fitted: FittedModel | null;
  /** Language-model calls of the extract stage, recorded as ModelCalled events. */
  readonly usage?: ModelUsage[];
}

export interface CommitResult {
  readonly events: number;
  /** Position of the last event appended, if any. */
  readonly last: LogPosition | null;
}

/** Creates the activity functions over their dependencies. */
export function createActivities(deps: ActivityDeps) {
  const opts: ActivityOptions = { ...DEFAULTS, ...deps.options };
  const sealer = deps.sealer ?? new RecordSealer(null);
  /** Destroys the keys erasure asks for: forgotten memories', a forgotten message's, or the whole keyring. */
  const shred = async (scope: Scope, changes: readonly PlannedChange[]): Promise<void> => {
    const keyIds: string[] = [];
    let wholeKeyring = false;
    for (const c of changes) {
      if (c.op === 'FORGET') keyIds.push(`mem:${c.targetId}`);
      else if (c.op === 'SHRED') {
        keyIds.push(...c.keyIds);
        wholeKeyring ||= c.wholeKeyring;
      }
    }
    if (wholeKeyring) await sealer.shredUser(scope);
    else await sealer.shred(scope, keyIds);
  };
  const scoped = async (input: ScopedInput): Promise<Scope> => {
    const scope = scopeOf(input.tenantId, input.userId);
    if (input.after) await deps.awaitProjection(input.after);
    return scope;
  };

  /** Related active memories for the guard: vector neighbours and facts with the same subject and predicate. */
  const relatedTo = async (scope: Scope, id: string, embedding: readonly number[], triple: Triple | null): Promise<MemoryState[]> => {
    // One more than needed: a memory being re-scanned finds itself.
    const hits = await deps.vectors.searchDense(scope, embedding, opts.neighbours + 1, { statuses: ['active'] });
    const states = await deps.store.getMany(scope, hits.filter((h) => h.id !== id).slice(0, opts.neighbours).map((h) => h.id));
    const facts = triple ? await deps.store.factsAbout(scope, triple.subject, triple.predicate) : [];
    const seen = new Set<string>([id]);
    return [...facts, ...states].filter((s) => {
      if (seen.has(s.memory.id)) return false;
      seen.add(s.memory.id);
      return true;
    });
  };

  /** Active facts for each `subject|predicate` key (keys as built by factKeyOf). */
  const factsFor = async (scope: Scope, keys: readonly string[]): Promise<Record<string, MemoryState[]>> => {
    const out: Record<string, MemoryState[]> = {};
    for (const key of new Set(keys)) {
      const cut = key.lastIndexOf('|');
      out[key] = await deps.store.factsAbout(scope, key.slice(0, cut), key.slice(cut + 1));
    }
    return out;
  };

  return {
    /** Extraction: messages → candidate memories and lifecycle commands (pure offline; the LLM's facts per message when configured). */
    async extract(input: ExtractInput): Promise<ExtractOutput> {
      scopeOf(input.tenantId, input.userId);
      const offline = extract(input);
      return deps.llm ? extractWithLlm(deps.llm, input, offline) : offline;
    },

    /** Embeds candidates (batched; the embedder caches by text hash). */
    async embed(input: { candidates: CandidateUnit[] }): Promise<EmbeddedCandidate[]> {
      const vectors = await deps.embedder.embed(input.candidates.map((c) => c.text));
      return input.candidates.map((c, i) => ({
        ...c,
        embedding: vectors[i] as number[],
        embeddingModel: deps.embedder.modelId,
        textHash: textHashOf(c.text),
      }));
    },

    /** Association: GMM responsibilities and links to historical memories, refitting when due. */
    async associate(input: ScopedInput & { candidates: EmbeddedCandidate[]; batchId: string }): Promise<AssociateResult> {
      const scope = await scoped(input);
      if (input.candidates.length === 0) return { fitted: null, candidates: [] };
      const [active, model] = await Promise.all([
        deps.store.list(scope, { statuses: ['active'], limit: opts.historyLimit }),
        deps.store.clusterModel(scope),
      ]);
      const out = associate({
        tenantId: scope.tenantId,
        userId: scope.userId,
        candidates: input.candidates,
        history: active.map((s) => ({ id: s.memory.id, embedding: [...s.memory.embedding] })),
        model,
        seed: seedOf(`${scopeKey(scope)}/${input.batchId}`),
      });
      const byId = new Map(out.assignments.map((a) => [a.id, a]));
      return {
        fitted: out.fitted,
        candidates: input.candidates.map((c) => ({
          ...c,
          clusters: byId.get(c.id)?.clusters ?? [],
          links: byId.get(c.id)?.links ?? [],
        })),
      };
    },

    /** Consolidation (ADD / UPDATE / DELETE / NOOP) and the lifecycle commands of the batch. */
    async consolidate(
      input: ScopedInput & { candidates: AssociatedCandidate[]; lifecycle: ExtractOutput['lifecycle'] },
    ): Promise<PlannedChange[]> {
      const scope = await scoped(input);
      const neighbours: Record<string, Neighbour[]> = {};
      const exactMatches: Record<string, MemoryState[]> = {};
      for (const c of input.candidates) {
        const hits = await deps.vectors.searchDense(scope, c.embedding, opts.neighbours, { statuses: ['active'] });
        const states = new Map((await deps.store.getMany(scope, hits.map((h) => h.id))).map((s) => [s.memory.id, s]));
        neighbours[c.id] = hits.flatMap((h) => {
          const state = states.get(h.id);
          return state && h.id !== c.id ? [{ state, similarity: h.score }] : [];
        });
        exactMatches[c.id] = (await deps.store.byTextHash(scope, c.textHash)).filter((s) => s.memory.id !== c.id);
      }
      const activeFacts = await factsFor(
        scope,
        input.candidates.flatMap((c) => (c.triple ? [factKeyOf(c.triple.subject, c.triple.predicate)] : [])),
      );
      const decided = consolidate(input.candidates, { neighbours, exactMatches, activeFacts });
      // A refinement keeps the provenance of the version it refines: both messages support it.
      const planned: PlannedChange[] = [];
      for (const change of decided) {
        if (change.op !== 'UPDATE') {
          planned.push(change);
          continue;
        }
        // The target may be stored already, or be an earlier candidate of this same batch.
        const earlier = planned.flatMap((p) => ((p.op === 'ADD' || p.op === 'UPDATE') && (p.op === 'ADD' ? p.candidate.id : p.targetId) === change.targetId ? [p.candidate] : []));
        const stored = await deps.store.get(scope, change.targetId);
        const sources = [...(stored?.memory.sources ?? []), ...earlier.flatMap((c) => c.sources), ...change.candidate.sources];
        const unique = sources.filter((s, i) => sources.findIndex((o) => o.eventId === s.eventId && o.messageId === s.messageId) === i);
        planned.push({ ...change, candidate: { ...change.candidate, sources: unique } });
      }

      const bySourceMessage: Record<string, MemoryState[]> = {};
      const invalidatedBy: Record<string, MemoryState[]> = {};
      const memories: Record<string, MemoryState> = {};
      let allMemories: MemoryState[] | null = null;
      for (const cmd of input.lifecycle) {
        if (cmd.type === 'retireMessage' || cmd.type === 'forgetMessage') {
          const states = await deps.store.bySourceMessage(scope, cmd.messageId);
          bySourceMessage[cmd.messageId] = states;
          for (const s of states) invalidatedBy[s.memory.id] = await deps.store.invalidatedBy(scope, s.memory.id);
        } else if (cmd.type === 'forgetMemory' || cmd.type === 'feedback' || cmd.type === 'review') {
          const s = await deps.store.get(scope, cmd.memoryId);
          if (s) memories[cmd.memoryId] = s;
        } else if (cmd.type === 'forgetUser') {
          allMemories ??= await deps.store.list(scope, {});
        }
      }
      const lifecycle = planLifecycle(input.lifecycle, { bySourceMessage, invalidatedBy, memories, allMemories });
      if (!deps.llm) return [...lifecycle, ...planned];
      // The judge sees the lifecycle changes too, so it never touches a memory they retire.
      const judged = await judgeConsolidations(deps.llm, input.candidates, [...lifecycle, ...planned], neighbours, { forgetting: opts.forgetting });
      return [...judged.changes, ...judged.usage];
    },

    /** Conflict resolution: newer contradicting facts close the validity of older ones. */
    async resolveConflicts(input: ScopedInput & { changes: PlannedChange[] }): Promise<PlannedChange[]> {
      const scope = await scoped(input);
      const activeFacts = await factsFor(
        scope,
        input.changes.flatMap((c) => ((c.op === 'ADD' || c.op === 'UPDATE') && c.candidate.triple ? conflictKeysOf(c.candidate.triple) : [])),
      );
      const resolved = resolveConflicts(input.changes, { activeFacts });
      if (!deps.llm) return resolved;
      // Predicates the offline table does not know: the judge compares the values.
      return judgeConflicts(deps.llm, resolved, await factsFor(scope, judgeKeysOf(resolved)));
    },

    /** A-MemGuard consensus check: quarantines suspicious candidates and records lessons. */
    async guard(
      input: ScopedInput & { changes: PlannedChange[]; rescan?: LifecycleCommand[] },
    ): Promise<{ changes: PlannedChange[]; verdicts: GuardVerdict[] }> {
      const scope = await scoped(input);
      if (!opts.guard.enabled) return { changes: input.changes, verdicts: [] };
      const lessons: Lesson[] = await deps.store.lessons(scope);
      const rescanned: PlannedChange[] = [];
      for (const cmd of input.rescan ?? []) {
        if (cmd.type !== 'rescan') continue;
        const subjects: RescanSubject[] = [];
        for (const state of await deps.store.getMany(scope, cmd.memoryIds)) {
          if (state.status !== 'active') continue;
          const [quote] = await readSourceQuotes(deps.log, sealer, scope, state.memory.sources.slice(0, 1));
          const role = MESSAGE_ROLES.find((r) => r === quote?.role) ?? 'user';
          subjects.push({ state, role, speaker: quote?.speaker ?? '', related: await relatedTo(scope, state.memory.id, state.memory.embedding, state.memory.triple) });
        }
        const known = [...lessons, ...rescanned.flatMap((c) => (c.op === 'LESSON' ? [c.lesson] : []))];
        rescanned.push(...planRescan(subjects, known, cmd.causationId, { threshold: opts.guard.threshold }));
      }
      const related: Record<string, MemoryState[]> = {};
      // Candidates accepted earlier in this batch count as memories: a batch is read in order.
      const earlier: MemoryState[] = [];
      for (const change of input.changes) {
        if (change.op !== 'ADD' && change.op !== 'UPDATE') continue;
        const c = change.candidate;
        const inBatch = earlier.filter(
          (s) =>
            (c.triple && s.memory.triple && factKeyOf(c.triple.subject, c.triple.predicate) === factKeyOf(s.memory.triple.subject, s.memory.triple.predicate)) ||
            cosine(c.embedding, s.memory.embedding) >= opts.batchRelatedSimilarity,
        );
        const state = batchState(scope, change);
        const at = earlier.findIndex((s) => s.memory.id === state.memory.id);
        if (at >= 0) earlier[at] = state;
        else earlier.push(state);
        const seen = new Set<string>();
        related[c.id] = [...(await relatedTo(scope, c.id, c.embedding, c.triple)), ...inBatch].filter((s) => {
          if (s.memory.id === c.id || seen.has(s.memory.id)) return false;
          seen.add(s.memory.id);
          return true;
        });
      }
      const known = [...lessons, ...rescanned.flatMap((c) => (c.op === 'LESSON' ? [c.lesson] : []))];
      // With a model: A-MemGuard's reasoning-path vote for the candidates the offline rules are unsure of.
      const votes: Record<string, ModelVote> = {};
      const usage: PlannedChange[] = [];
      if (deps.llm) {
        const asks = input.changes.flatMap((ch) => {
          if (ch.op !== 'ADD' && ch.op !== 'UPDATE') return [];
          const rel = related[ch.candidate.id] ?? [];
          const offline = assessCandidate(ch.candidate, rel, known, { threshold: opts.guard.threshold });
          return needsVote(ch.candidate, offline.score, rel, opts.guard.threshold) ? [{ c: ch.candidate, rel }] : [];
        });
        for (const ask of asks) {
          const r = await callStructured(deps.llm, guardVoteRequest(ask.c, ask.rel), GuardVoteSchema, 'guard');
          usage.push({ op: 'USAGE', usage: r.usage, causationId: ask.c.sourceEventId });
          const signal = r.value ? voteSignal(r.value, Math.min(ask.rel.length, GUARD_VOTE_MAX_RELATED)) : null;
          if (signal) votes[ask.c.id] = signal;
        }
      }
      const guarded = guard(input.changes, { related, lessons: known, votes }, { threshold: opts.guard.threshold });
      return { changes: [...rescanned, ...guarded.changes, ...usage], verdicts: guarded.verdicts };
    },

    /** The forgetting pass: archives the user's active memories whose retention at `now` is below the floor. */
    async decay(input: ScopedInput & { now: number; batchId: string }): Promise<PlannedChange[]> {
      const scope = await scoped(input);
      const active = await deps.store.list(scope, { statuses: ['active'] });
      const decisions = planDecay(
        active.map((s) => ({
          id: s.memory.id,
          kind: s.memory.kind,
          version: s.version,
          strength: s.memory.strength,
          accesses: s.accesses ?? 0,
          lastTouchedAt: s.lastTouchedAt ?? s.memory.recordedAt,
        })),
        input.now,
        opts.forgetting,
      );
      return decisions.map((d) => ({
        op: 'ARCHIVE',
        targetId: d.id,
        previousVersion: d.version,
        retention: d.retention,
        strength: d.strength,
        reason: d.reason,
        causationId: input.batchId,
      }));
    },

    /** Appends the batch's memory events to `memory-events`; idempotent by event id. */
    async commit(input: CommitInput): Promise<CommitResult> {
      const scope = scopeOf(input.tenantId, input.userId);
      const events = buildMemoryEvents({
        scope,
        batchId: input.batchId,
        recordedAt: deps.clock.now(),
        provenance: { runId: input.batchId, model: opts.extractorModel, promptHash: '' },
        changes: input.changes,
        fitted: input.fitted,
        usage: input.usage ?? [],
        forgetting: opts.forgetting,
      });
      // Erasure first: destroyed keys never seal this batch's later records (a user may write again
      // after asking to be forgotten), and a retry after a crash destroys them again (idempotent).
      await shred(scope, input.changes);
      if (events.length === 0) return { events: 0, last: null };
      const positions = await deps.log.append(TOPICS.memory, await sealer.memoryRecords(events));
      return { events: events.length, last: positions[positions.length - 1] ?? null };
    },
  };
}

/** The activity functions, as workflows see them (types only). */
export type MemoryActivities = ReturnType<typeof createActivities>;
