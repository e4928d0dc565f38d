/**
 * A fixed piece of CPU work timed on this host: on a shared machine the same code's figures move
 * with the host's speed (by 40 % within an afternoon here), so the bench records this before and
 * after its phases to tell a slower host from slower code.
 */
import { createHash } from 'node:crypto';

/** SHA-256 chained over its own digest this many times per round. */
const ROUND_HASHES = 100_000;

/** Milliseconds of the median of three rounds of the fixed work (lower is a faster host). */
export function hostProbeMs(): number {
  const rounds: number[] = [];
  for (let r = 0; r < 3; r++) {
    let digest = Buffer.alloc(32);
    const t0 = performance.now();
    for (let i = 0; i < ROUND_HASHES; i++) digest = createHash('sha256').update(digest).digest();
    rounds.push(performance.now() - t0);
  }
  rounds.sort((a, b) => a - b);
  return Math.round((rounds[1] as number) * 10) / 10;
}
