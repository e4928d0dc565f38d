import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../apps/engine.js';
import { EXAMPLES_DIR } from '../../apps/cli/demo.js';
import type { ConversationEvent } from '../../core/model.js';
import { loadConfig } from '../../infra/config.js';
import { parseConversationEvent } from '../../schemas/conversation-input.js';

/** A fresh temporary data directory. */
export function tempDir(prefix = 'engram-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Opens an engine over a data directory with default settings. */
export function openTestEngine(dataDir: string, overrides: Record<string, unknown> = {}): Promise<Engine> {
  return Engine.open(loadConfig({}, { dataDir, ...overrides }));
}

/** The example conversations shipped in examples/. */
export function exampleEvents(): ConversationEvent[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) =>
      readFileSync(join(EXAMPLES_DIR, f), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => parseConversationEvent(JSON.parse(l))),
    );
}

/** Removes a directory tree (ignores errors: LadybugDB may hold files briefly). */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
