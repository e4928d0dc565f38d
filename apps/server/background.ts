/**
 * The embedded profile's background processing: after each publish the server "kicks" a loop that
 * runs the pipeline until idle, so requests never wait for it. One loop at a time; a kick during a
 * run asks for one more run.
 */
import type { FastifyBaseLogger } from 'fastify';

export interface BackgroundLoop {
  /** Asks for a run (returns at once). */
  kick(): void;
  /** Resolves when no run is going on. */
  idle(): Promise<void>;
  /** Stops asking for runs and waits for the current one. */
  stop(): Promise<void>;
}

/** A loop over `work` (absent on profiles where other processes do the work: then kicks do nothing). */
export function backgroundLoop(work: (() => Promise<unknown>) | undefined, log: FastifyBaseLogger): BackgroundLoop {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const kick = (): void => {
    if (stopped || !work) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await work();
        } catch (err) {
          log.error({ err }, 'background processing failed');
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
  };
  const idle = async (): Promise<void> => {
    while (running) await running;
  };
  return {
    kick,
    idle,
    async stop() {
      stopped = true;
      await idle();
    },
  };
}
