/**
 * The projector role: applies `memory-events` to every projection (vector index, graph, memory
 * store), each from its own checkpoint, until stopped.
 */
import type { ProjectorRunner } from '../../streams/projectors/projector-runner.js';
import { runLoop } from './lifecycle.js';

/** Runs the projectors until the signal fires; returns how many records were applied. */
export async function runProjectors(
  runner: ProjectorRunner,
  signal: AbortSignal,
  print: (line: string) => void,
  onRound?: (applied: number) => void,
): Promise<number> {
  let total = 0;
  await runLoop(
    'project',
    signal,
    async () => {
      const applied = await runner.catchUp();
      total += applied;
      onRound?.(applied);
      return applied;
    },
    print,
  );
  return total;
}
