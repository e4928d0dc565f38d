/**
 * The ingest-bridge role: reads `conversation-events`, dead-letters bad records with the reason,
 * hands valid events to their user's workflow, and commits offsets only after the hand-off.
 */
import type { EventLog } from '../../core/ports.js';
import { IngestBridge, type BridgeResult, type HandOff } from '../../streams/ingest-bridge.js';
import type { RecordSealer } from '../../streams/record-sealer.js';
import { runLoop } from './lifecycle.js';

export interface IngestRoleOptions {
  readonly log: EventLog;
  readonly handOff: HandOff;
  readonly signal: AbortSignal;
  /** Records per poll. */
  readonly maxRecords?: number;
  readonly print: (line: string) => void;
  readonly onRound?: (r: BridgeResult) => void;
  /** Opens sealed records (crypto-shredding); erased ones are skipped. */
  readonly opener?: RecordSealer;
}

/** Runs the bridge until the signal fires; returns the totals. */
export async function runIngest(opts: IngestRoleOptions): Promise<BridgeResult> {
  const bridge = new IngestBridge(opts.log, opts.handOff, 'ingest-bridge', opts.opener);
  const totals = { read: 0, handedOff: 0, deadLettered: 0 };
  await runLoop(
    'ingest',
    opts.signal,
    async () => {
      const r = await bridge.pollOnce(opts.maxRecords ?? 512);
      totals.read += r.read;
      totals.handedOff += r.handedOff;
      totals.deadLettered += r.deadLettered;
      opts.onRound?.(r);
      return r.read;
    },
    opts.print,
  );
  return totals;
}
