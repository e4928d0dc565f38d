/**
 * A single background worker for the embedded profile, shared by the HTTP server and the MCP
 * server: `kick()` after a publish runs the work (the pipeline until idle) once more, never two
 * runs at a time, so requests never wait for it; `settle(ms)` lets a read wait, bounded, until the
 * work has caught up, so an agent's search sees the message it just added.
 */

export interface BackgroundLoop {
  /** Schedules a run (coalesced with one in progress). */
  kick(): void;
  /** Resolves when no run is in progress or scheduled. */
  idle(): Promise<void>;
  /** Waits for `idle()`, but no longer than `ms`; resolves true when idle. */
  settle(ms: number): Promise<boolean>;
  /** Stops scheduling new runs and waits for the current one. */
  stop(): Promise<void>;
}

/** Runs `work` in the background on demand; failures go to `onError` and do not stop the loop. */
export function backgroundLoop(work: () => Promise<unknown>, onError: (err: unknown) => void = () => {}): BackgroundLoop {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const run = async (): Promise<void> => {
    do {
      again = false;
      try {
        await work();
      } catch (err) {
        onError(err);
      }
    } while (again && !stopped);
  };
  const loop: BackgroundLoop = {
    kick() {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      running = run().finally(() => {
        running = null;
      });
    },
    async idle() {
      while (running) await running;
    },
    async settle(ms) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      });
      try {
        return await Promise.race([loop.idle().then(() => true), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      stopped = true;
      await loop.idle();
    },
  };
  return loop;
}
