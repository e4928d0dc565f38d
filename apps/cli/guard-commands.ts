/**
 * The guard's operator commands: the quarantine review queue (`engram quarantine list|approve|reject`),
 * lessons (`engram lessons`) and the retroactive re-scan (`engram guard rescan`).
 */
import { scopeOf } from '../../core/scope.js';
import { isoOrOpen } from './format.js';
import { withEngine, type GlobalOptions } from './open.js';
import { progressBar } from './progress.js';

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** `engram quarantine list`: quarantined memories of a tenant (or one user) with reasons and sources. */
export async function quarantineListCommand(globals: GlobalOptions, opts: { tenant: string; user?: string; json?: boolean }): Promise<void> {
  await withEngine(globals, false, async (engine) => {
    const items = await engine.quarantine(opts.tenant, opts.user);
    if (opts.json) {
      print(JSON.stringify(items, null, 2));
      return;
    }
    if (items.length === 0) {
      print(`no quarantined memories for ${opts.tenant}${opts.user ? `/${opts.user}` : ''}`);
      return;
    }
    print(`${items.length} quarantined ${items.length === 1 ? 'memory' : 'memories'}:`);
    for (const item of items) {
      const quotes = await engine.sourceQuotes(scopeOf(opts.tenant, item.userId), item.sources);
      print(`- ${item.memoryId} (user ${item.userId}, held ${isoOrOpen(item.recordedAt)})`);
      print(`    "${item.text}"`);
      for (const q of quotes) print(`    source: ${q.role ?? '?'} ${q.speaker ?? ''} [${q.messageId}] ${q.text === null ? '(erased)' : `"${q.text}"`}`);
      for (const r of item.reasons) print(`    reason: ${r}`);
    }
    print('approve or reject with: engram quarantine approve|reject <id> --tenant T --user U --reason "..."');
  });
}

/** `engram quarantine approve|reject <id>`: a review verdict, recorded as events. */
export async function quarantineReviewCommand(
  globals: GlobalOptions,
  memoryId: string,
  approve: boolean,
  opts: { tenant: string; user: string; reason: string; reviewer?: string },
): Promise<void> {
  await withEngine(globals, false, async (engine) => {
    const state = await engine.review(scopeOf(opts.tenant, opts.user), memoryId, {
      approve,
      reason: opts.reason,
      reviewer: opts.reviewer ?? process.env.USER,
    });
    print(`${memoryId}: ${approve ? 'released' : 'rejected'} (now ${state.status}, version ${state.version})`);
  });
}

/** `engram lessons`: what the guard learnt from attacks on a user's memory. */
export async function lessonsCommand(globals: GlobalOptions, opts: { tenant: string; user: string; json?: boolean }): Promise<void> {
  await withEngine(globals, false, async (engine) => {
    const lessons = await engine.lessons(scopeOf(opts.tenant, opts.user));
    if (opts.json) {
      print(JSON.stringify(lessons, null, 2));
      return;
    }
    if (lessons.length === 0) print('no lessons');
    for (const l of lessons) {
      print(`- ${l.id} ${l.pattern} (${isoOrOpen(l.createdAt)})`);
      print(`    trigger: "${l.trigger}"`);
      print(`    target:  "${l.targetClaim}"`);
      print(`    from:    ${l.sources.map((s) => s.messageId).join(', ')}`);
    }
  });
}

/** `engram guard rescan [--since OFFSET]`: the current guard over past memory events. */
export async function rescanCommand(globals: GlobalOptions, opts: { since: number }): Promise<void> {
  await withEngine(globals, false, async (engine) => {
    const bar = progressBar('rescanning');
    try {
      const report = await engine.rescan(opts.since, (p) => bar.update(p.processed + p.deadLettered, p.published, 'events'));
      bar.stop();
      print(
        `re-scanned ${report.memories} memories of ${report.users} users from memory-events offset ${opts.since}: ` +
          `${report.quarantined} newly quarantined (as new events; the log is not rewritten)`,
      );
    } finally {
      bar.stop();
    }
  });
}
