/**
 * What every long-running role shares: stop on SIGTERM/SIGINT (graceful: finish the current step,
 * close connections), a heartbeat file for container health checks, and idle back-off.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError, EngramError } from '../../core/errors.js';

/** An AbortSignal fired by the first SIGTERM or SIGINT (a second one exits at once). */
export function shutdownSignal(role: string, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): AbortSignal {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      log(`engram ${role}: second ${name}, exiting now`);
      process.exit(130);
    }
    log(`engram ${role}: ${name} received, finishing the current step and shutting down`);
    controller.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return controller.signal;
}

/** The heartbeat file of a role; compose's health check looks for a fresh one. */
export function heartbeatPath(role: string): string {
  return join(tmpdir(), `engram-${role}.alive`);
}

/** Touches the role's heartbeat file (best effort: health is advisory, never fatal). */
export function heartbeat(role: string): void {
  try {
    writeFileSync(heartbeatPath(role), String(Date.now()));
  } catch {
    // A read-only /tmp only makes the health check report unhealthy.
  }
}

/** Resolves after `ms`, or at once when the signal fires. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Idle back-off: doubles from `min` to `max` while there is nothing to do, resets on work. */
export class Backoff {
  private current: number;

  constructor(
    private readonly min = 50,
    private readonly max = 2_000,
  ) {
    this.current = min;
  }

  /** The wait after a round that did `work` units. */
  next(work: number): number {
    if (work > 0) {
      this.current = this.min;
      return 0;
    }
    const wait = this.current;
    this.current = Math.min(this.max, this.current * 2);
    return wait;
  }
}

/**
 * Runs `step` until the signal fires, backing off while idle. A retriable failure (a server down,
 * a timeout) is logged and retried with growing waits, so a role rides out an outage instead of
 * crash-looping; a non-retriable EngramError stops the role.
 */
export async function runLoop(
  role: string,
  signal: AbortSignal,
  step: () => Promise<number>,
  log: (line: string) => void,
  backoff: { idle?: Backoff; failing?: Backoff } = {},
): Promise<void> {
  const idle = backoff.idle ?? new Backoff();
  const failing = backoff.failing ?? new Backoff(1_000, 30_000);
  while (!signal.aborted) {
    let work: number;
    try {
      work = await step();
    } catch (err) {
      if (err instanceof EngramError && !err.retriable) throw err;
      const wait = failing.next(0);
      log(`engram ${role}: ${describeError(err)}; retrying in ${wait} ms`);
      await pause(wait, signal);
      continue;
    }
    failing.next(1);
    heartbeat(role);
    await pause(idle.next(work), signal);
  }
}
