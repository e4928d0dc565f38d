/**
 * Prometheus metrics (prom-client), all named `engram_*`, in one registry of their own, with small
 * typed recording functions so the instrumented code never touches label names. Values are
 * per-process: every role exposes its own (the API's `/metrics`, or the role's metrics port).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ModelUsage } from '../../core/pipeline.js';
import { SCOPE_ID } from '../../core/scope.js';

/** The registry every Engram metric is registered in. */
export const registry = new Registry();

/** Seconds: from a fast in-memory stage to a slow language-model call. */
const STAGE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type IngestOutcome = 'processed' | 'dead_lettered';
export type StageOutcome = 'ok' | 'error';
export type BatchKind = 'batch' | 'decay';
/** Workflow stages (activity names) timed by the stage histogram. */
export type Stage = 'extract' | 'embed' | 'associate' | 'consolidate' | 'resolveConflicts' | 'guard' | 'decay' | 'commit';

const eventsIngested = new Counter({
  name: 'engram_events_ingested_total',
  help: 'Conversation events read by the ingest bridge: processed (validated and handed to the user workflow) or dead_lettered.',
  labelNames: ['tenant', 'outcome'] as const,
  registers: [registry],
});

/** Sources of the lag gauge, asked at each scrape. */
const lagSources = new Set<() => Promise<Readonly<Record<string, number>>>>();

// Registered for its collect callback only: nothing sets it directly.
new Gauge({
  name: 'engram_consumer_lag',
  help: 'Records not yet consumed, per consumer: ingest-bridge, workflows (inputs waiting in workflow inboxes), and each projector.',
  labelNames: ['consumer'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    for (const source of lagSources) {
      let values: Readonly<Record<string, number>>;
      try {
        values = await source();
      } catch {
        // A store that does not answer must not fail the whole scrape; its lag is simply absent.
        continue;
      }
      for (const [consumer, lag] of Object.entries(values)) this.set({ consumer }, lag);
    }
  },
});

const batchSeconds = new Histogram({
  name: 'engram_workflow_batch_duration_seconds',
  help: 'Memory workflow batches, first stage start to commit end (kind: batch of events, or decay pass).',
  labelNames: ['kind'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
  registers: [registry],
});

const stageSeconds = new Histogram({
  name: 'engram_workflow_stage_duration_seconds',
  help: 'Memory workflow activities (extract, embed, associate, consolidate, resolveConflicts, guard, decay, commit).',
  labelNames: ['stage', 'outcome'] as const,
  buckets: STAGE_BUCKETS,
  registers: [registry],
});

const decisions = new Counter({
  name: 'engram_memory_decisions_total',
  help: 'Committed memory decisions by operation (ADD, UPDATE, DELETE, NOOP, INVALIDATE, RESTORE, FORGET, QUARANTINE, LESSON, ARCHIVE, SHRED).',
  labelNames: ['tenant', 'op'] as const,
  registers: [registry],
});

const quarantines = new Counter({
  name: 'engram_quarantines_total',
  help: 'Candidates the A-MemGuard check held back, by dominant attack pattern.',
  labelNames: ['tenant', 'pattern'] as const,
  registers: [registry],
});

const llmTokens = new Counter({
  name: 'engram_llm_tokens_total',
  help: 'Language-model tokens metered by the write path (kind: prompt or completion).',
  labelNames: ['tenant', 'model', 'kind'] as const,
  registers: [registry],
});

const llmCalls = new Counter({
  name: 'engram_llm_calls_total',
  help: 'Language-model calls of the write path, by purpose and outcome (ok, repaired, fallback, error).',
  labelNames: ['tenant', 'model', 'purpose', 'outcome'] as const,
  registers: [registry],
});

const projectionSeconds = new Histogram({
  name: 'engram_projection_batch_duration_seconds',
  help: 'One projection applying one batch of memory events.',
  labelNames: ['projection'] as const,
  buckets: STAGE_BUCKETS,
  registers: [registry],
});

const projected = new Counter({
  name: 'engram_projected_events_total',
  help: 'Memory events applied, per projection.',
  labelNames: ['projection'] as const,
  registers: [registry],
});

const httpSeconds = new Histogram({
  name: 'engram_http_request_duration_seconds',
  help: 'HTTP requests served, by method, route template and status code.',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: HTTP_BUCKETS,
  registers: [registry],
});

/** A tenant label: validated ids only, so a bad record key cannot mint label values. */
export function tenantLabel(tenant: string | null | undefined): string {
  return typeof tenant === 'string' && SCOPE_ID.test(tenant) ? tenant : 'unknown';
}

/** Counts conversation events the bridge processed or dead-lettered. */
export function recordIngested(tenant: string | null | undefined, outcome: IngestOutcome, n = 1): void {
  if (n > 0) eventsIngested.inc({ tenant: tenantLabel(tenant), outcome }, n);
}

/** Times one workflow stage (activity) run. */
export function recordStage(stage: Stage, seconds: number, outcome: StageOutcome): void {
  stageSeconds.observe({ stage, outcome }, seconds);
}

/** Times one whole workflow batch. */
export function recordBatch(kind: BatchKind, seconds: number): void {
  batchSeconds.observe({ kind }, seconds);
}

/** Counts committed decisions of one operation. */
export function recordDecision(tenant: string, op: string, n = 1): void {
  if (n > 0) decisions.inc({ tenant: tenantLabel(tenant), op }, n);
}

/** Counts one quarantined candidate. */
export function recordQuarantine(tenant: string, pattern: string | null): void {
  quarantines.inc({ tenant: tenantLabel(tenant), pattern: pattern ?? 'unclassified' });
}

/** Counts one language-model call and its tokens. */
export function recordLlmUsage(tenant: string, usage: ModelUsage): void {
  const t = tenantLabel(tenant);
  llmCalls.inc({ tenant: t, model: usage.model, purpose: usage.purpose, outcome: usage.outcome });
  if (usage.promptTokens > 0) llmTokens.inc({ tenant: t, model: usage.model, kind: 'prompt' }, usage.promptTokens);
  if (usage.completionTokens > 0) llmTokens.inc({ tenant: t, model: usage.model, kind: 'completion' }, usage.completionTokens);
}

/** Times one projection batch and counts its events. */
export function recordProjection(projection: string, events: number, seconds: number): void {
  projectionSeconds.observe({ projection }, seconds);
  if (events > 0) projected.inc({ projection }, events);
}

/** Times one HTTP request (`route` is the route template, never the raw URL). */
export function recordHttp(method: string, route: string, statusCode: number, seconds: number): void {
  httpSeconds.observe({ method, route, status_code: String(statusCode) }, seconds);
}

/**
 * Adds a source of consumer lag (consumer name → records behind), asked at every scrape.
 * Returns the function that removes it (call it when the source closes).
 */
export function registerLagSource(source: () => Promise<Readonly<Record<string, number>>>): () => void {
  lagSources.add(source);
  return () => {
    lagSources.delete(source);
  };
}

let defaultsOn = false;

/** Adds prom-client's process metrics (CPU, memory, event-loop lag, GC) once, with the engram_ prefix. */
export function enableDefaultMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry, prefix: 'engram_' });
}

/** The Prometheus text exposition of every metric. */
export function metricsText(): Promise<string> {
  return registry.metrics();
}

/** The content type of `metricsText`. */
export const METRICS_CONTENT_TYPE = registry.contentType;
