/**
 * A bounded memory of the ids a receiver has already published, so a platform's retry of the same
 * delivery publishes nothing new. Ids in flight are waited for rather than reported as done, so a
 * retry that races a failing first attempt fails with it (and the platform retries again). The
 * pipeline drops repeated event ids too; this only keeps retries out of the log.
 */

/** Default number of ids remembered (oldest forgotten first). */
export const DEFAULT_RECENT_CAPACITY = 50_000;

export interface OnceOutcome<T> {
  /** The ids that were new and handed to the work, in first-seen order. */
  readonly fresh: readonly string[];
  /** How many of the given ids (after removing repeats) were already done. */
  readonly duplicates: number;
  /** What the work returned, or null when every id was a duplicate (the work did not run). */
  readonly result: T | null;
}

export class RecentIds {
  /** Done ids, in insertion order so the oldest is evicted first. */
  private readonly done = new Set<string>();
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(private readonly capacity = DEFAULT_RECENT_CAPACITY) {}

  /** True when `id` has been done (and not yet forgotten). */
  has(id: string): boolean {
    return this.done.has(id);
  }

  /**
   * Runs `work` on the ids not done yet (waiting first for any in flight); once it succeeds those
   * ids are done. When it throws, nothing is marked and the error propagates.
   */
  async once<T>(ids: readonly string[], work: (fresh: readonly string[]) => Promise<T>): Promise<OnceOutcome<T>> {
    const unique = [...new Set(ids)];
    // Wait until none of our ids is in flight; then claim the fresh ones without yielding.
    for (;;) {
      const inFlight = unique.map((id) => this.pending.get(id)).filter((p): p is Promise<unknown> => p !== undefined);
      if (inFlight.length === 0) break;
      await Promise.allSettled(inFlight);
    }
    const fresh = unique.filter((id) => !this.done.has(id));
    const duplicates = unique.length - fresh.length;
    if (fresh.length === 0) return { fresh, duplicates, result: null };
    const running = work(fresh);
    for (const id of fresh) this.pending.set(id, running);
    try {
      const result = await running;
      for (const id of fresh) this.remember(id);
      return { fresh, duplicates, result };
    } finally {
      for (const id of fresh) this.pending.delete(id);
    }
  }

  private remember(id: string): void {
    this.done.add(id);
    while (this.done.size > this.capacity) {
      const oldest = this.done.values().next().value;
      if (oldest === undefined) break;
      this.done.delete(oldest);
    }
  }
}
