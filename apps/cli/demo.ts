/**
 * `engram demo`: ingests the example conversations through the full pipeline and prints what
 * Engram learnt: memories per user, an expired fact with its validity window, the quarantined
 * poisoning attempt, the clusters, and a few searches with their source messages.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataDirError } from '../../core/errors.js';
import { TOPICS, type ConversationEvent } from '../../core/model.js';
import { scopeKey, type Scope } from '../../core/scope.js';
import { RecordSealer } from '../../streams/record-sealer.js';
import { loadConfig } from '../../infra/config.js';
import { Engine } from '../engine.js';
import { parseJsonl, processWithProgress } from './commands.js';
import { formatHit, validity } from './format.js';

const print = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};

/** The examples shipped with the package. */
export const EXAMPLES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../examples/conversations');

/** The searches the demo runs, per user. */
const SEARCHES: readonly { userId: string; query: string; asOf?: string }[] = [
  { userId: 'alice', query: 'Where does Alice live?' },
  { userId: 'alice', query: 'Where did Alice live?', asOf: '2024-04-01T00:00:00Z' },
  { userId: 'alice', query: 'What does Alice like to drink?' },
  { userId: 'alice', query: 'When is the trip to Japan?' },
  { userId: 'alice', query: 'What is the gym locker code?' },
  { userId: 'bob', query: "What is the name of Bob's dog?" },
  { userId: 'bob', query: 'Where does Bob live?' },
];

export async function runDemo(opts: { dataDir: string; examples?: string }): Promise<void> {
  const dir = opts.examples ?? EXAMPLES_DIR;
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  } catch (cause) {
    throw new DataDirError(`cannot read the examples folder ${dir}: ${(cause as Error).message}`, { cause });
  }
  const config = loadConfig(process.env, { dataDir: opts.dataDir });
  const engine = await Engine.open(config, { create: true });
  try {
    print(`Engram demo · data directory ${config.dataDir}`);
    const events = files.flatMap((f) => {
      const { events: parsed, errors } = parseJsonl(readFileSync(join(dir, f), 'utf8'), f);
      for (const e of errors) process.stderr.write(`engram: skipped invalid example: ${e}\n`);
      return parsed;
    });
    // Redactions and forget requests arrive after what they are about has been remembered, as in a
    // live chat: they are published in a second wave.
    const later = (e: ConversationEvent): boolean => e.payload.type === 'MessageRedacted' || e.payload.type === 'ForgetRequested';
    const started = performance.now();
    await engine.publish(events.filter((e) => !later(e)));
    const first = await processWithProgress(engine, 'ingesting');
    await engine.publish(events.filter(later));
    const second = await processWithProgress(engine, 'redactions and erasures');
    const seconds = (performance.now() - started) / 1000;
    const stats = { processed: first.processed + second.processed, batches: first.batches + second.batches, memoryEvents: first.memoryEvents + second.memoryEvents };
    const rate = stats.processed > 0 && seconds > 0 ? stats.processed / seconds : 0;
    print(
      `ingested ${events.length} events from ${files.length} files (${events.filter(later).length} redactions and forget requests last): ` +
        `${stats.memoryEvents} memory events in ${seconds.toFixed(2)} s` +
        (stats.batches > 0 ? ` (${rate.toFixed(1)} events/s end to end)` : ' (already ingested: nothing new)'),
    );

    const tenantId = events[0]?.tenantId ?? 'acme';
    const users = await engine.ports.store.users(tenantId);
    for (const userId of users) await describeUser(engine, { tenantId, userId });

    print('\n== Searches (hybrid dense + BM25, with source messages)');
    for (const s of SEARCHES) {
      if (!users.includes(s.userId)) continue;
      const asOf = s.asOf === undefined ? undefined : Date.parse(s.asOf);
      print(`\n? ${s.query}  (${s.userId}${s.asOf ? `, as of ${s.asOf}` : ''})`);
      const hits = await engine.search({ tenantId, userId: s.userId }, s.query, { k: 3, asOf });
      hits.forEach((h, i) => print(formatHit(h, i + 1)));
    }
    print(`\nTry: npx engram search "where does alice live" --tenant ${tenantId} --user alice --data-dir ${opts.dataDir}`);
  } finally {
    await engine.close();
  }
}

/** Ids of the user's messages whose log records were crypto-shredded. */
async function erasedMessages(engine: Engine, scope: Scope): Promise<string[]> {
  const opener = new RecordSealer(engine.ports.keys);
  const out: string[] = [];
  const { log } = engine.ports;
  for (let p = 0; p < (await log.partitions(TOPICS.conversation)); p++) {
    for (let from = 0; ; ) {
      const records = await log.read(TOPICS.conversation, p, from, 1000);
      if (records.length === 0) break;
      for (const r of records) {
        if (r.key === scopeKey(scope) && r.headers['event-type'] === 'MessagePosted' && (await opener.open(r)).erased) {
          out.push(r.headers['event-id'] ?? `${p}@${r.offset}`);
        }
      }
      from = (records[records.length - 1]?.offset ?? from) + 1;
    }
  }
  return out;
}

async function describeUser(engine: Engine, scope: Scope): Promise<void> {
  const all = await engine.memories(scope, true);
  const byStatus = (status: string) => all.filter((s) => s.status === status);
  const active = byStatus('active');
  const kinds = new Map<string, number>();
  for (const s of active) kinds.set(s.memory.kind, (kinds.get(s.memory.kind) ?? 0) + 1);
  print(`\n== ${scope.tenantId}/${scope.userId}: ${active.length} active memories (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')})`);
  for (const s of active.filter((s) => s.memory.granularity !== 'turn')) print(`  - [${s.memory.kind}] ${s.memory.text}`);

  const invalid = byStatus('invalidated');
  if (invalid.length > 0) {
    print('  Expired (invalidated, kept in history):');
    for (const s of invalid) {
      const by = s.invalidatedBy ? all.find((o) => o.memory.id === s.invalidatedBy)?.memory.text : undefined;
      print(`  - ${s.memory.text}  valid ${validity(s.memory.validFrom, s.memory.validTo)}${by ? `  ← superseded by "${by}"` : ''}`);
      if (s.decisionReason) print(`      reason: ${s.decisionReason}`);
    }
  }
  const restored: string[] = [];
  for (const s of active) {
    const history = await engine.memory(scope, s.memory.id).then((d) => d.history);
    const back = history.find((h) => h.type === 'MemoryRestored');
    if (back) restored.push(`  - ${s.memory.text}  valid ${validity(s.memory.validFrom, s.memory.validTo)}\n      ${back.reason}`);
  }
  if (restored.length > 0) {
    print('  Restored (the newer fact that had closed them was redacted):');
    for (const line of restored) print(line);
  }
  const stats = await engine.ports.store.stats(scope);
  const erased = await erasedMessages(engine, scope);
  if (erased.length > 0) {
    print(
      `  Erased on request: ${stats.byStatus.forgotten} memories from ${erased.length} message(s) (events ${erased.join(', ')}); ` +
        'no projection holds them and their log records can no longer be decrypted',
    );
  }
  const quarantined = byStatus('quarantined');
  if (quarantined.length > 0) {
    print('  Quarantined by the guard:');
    for (const s of quarantined) {
      const src = s.memory.sources.map((x) => x.messageId).join(', ');
      print(`  - "${s.memory.text}" (from ${src})\n      reasons: ${s.quarantineReasons.join('; ')}`);
    }
    print('    review with: engram quarantine list --data-dir <dir>, then engram quarantine approve|reject <id> ...');
  }
  const lessons = await engine.lessons(scope);
  if (lessons.length > 0) {
    print('  Lessons the guard learnt (consulted before later decisions, returned with related searches):');
    for (const l of lessons) {
      print(`  - ${l.pattern}: trigger "${l.trigger}"; target "${l.targetClaim.length > 70 ? `${l.targetClaim.slice(0, 67)}...` : l.targetClaim}"`);
    }
  }
  const model = await engine.ports.store.clusterModel(scope);
  if (model) {
    const groups = new Map<number, string[]>();
    for (const s of active) {
      const top = s.clusters[0];
      if (!top) continue;
      const list = groups.get(top.component) ?? [];
      list.push(s.memory.text);
      groups.set(top.component, list);
    }
    print(`  Clusters (GMM over ${model.memoryCount} memories, ${groups.size} components in use):`);
    for (const [component, texts] of [...groups].sort((a, b) => a[0] - b[0])) {
      const shown = texts.slice(0, 3).map((t) => (t.length > 60 ? `${t.slice(0, 57)}...` : t));
      print(`  - #${component} (${texts.length}): ${shown.join(' | ')}`);
    }
  }
}
