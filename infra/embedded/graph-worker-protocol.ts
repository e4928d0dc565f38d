/** Messages between `GraphWorkerClient` (main thread) and the graph worker thread. */
import type { GraphOp } from '../../core/ports.js';

/** A request to the worker; `id` pairs it with its reply. */
export type GraphWorkerRequest = { readonly id: number } & (
  | { readonly op: 'open' }
  | { readonly op: 'applyOps'; readonly ops: readonly GraphOp[] }
  | { readonly op: 'clear' }
  | { readonly op: 'compact' }
  | { readonly op: 'checkpoint'; readonly projector: string; readonly topic: string; readonly partition: number }
  | { readonly op: 'saveCheckpoint'; readonly projector: string; readonly topic: string; readonly partition: number; readonly nextOffset: number }
  | { readonly op: 'reset'; readonly projector: string }
  | { readonly op: 'close' }
);

/** An error as it crosses the thread boundary (EngramError fields when it was one). */
export interface WorkerError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly retriable?: boolean;
  readonly details?: Record<string, unknown>;
}

/** The worker's answer to one request. */
export type GraphWorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WorkerError };
