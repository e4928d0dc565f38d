/**
 * The forgetting curve end to end on the embedded engine: retrievals strengthen memories, the pass
 * archives the faded ones for a given clock (and only those), archived memories leave default
 * search but stay listable and in the log, and a rebuild reproduces the same statuses.
 */
import test from 'ava';
import { Engine } from '../../apps/engine.js';
import type { ConversationEvent } from '../../core/model.js';
import { TOPICS } from '../../core/model.js';
import { scopeOf } from '../../core/scope.js';
import { loadConfig } from '../../infra/config.js';
import { removeDir, tempDir } from '../helpers/engine.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse('2024-02-05T09:00:00Z');
const dana = scopeOf('acme', 'dana');

function posted(n: number, text: string): ConversationEvent {
  return {
    eventId: `dana-e${n}`,
    tenantId: 'acme',
    userId: 'dana',
    conversationId: 'dana-chat',
    sessionId: 'dana-s1',
    occurredAt: T0 + n * 60_000,
    payload: { type: 'MessagePosted', messageId: `dana-m${n}`, role: 'user', speaker: 'Dana', text, attachmentCaptions: [] },
  };
}

test('retrieval keeps a memory alive; the pass archives what faded, deterministically, and a rebuild agrees', async (t) => {
  const dir = tempDir('engram-forget-');
  let now = T0;
  const clock = { now: () => now };
  const engine = await Engine.open(loadConfig({}, { dataDir: dir, forgetHalfLifeDays: 30, forgetFloor: 0.05 }), { clock });
  try {
    await engine.publish([
      posted(1, 'I keep bees on the roof of my building.'),
      posted(2, 'My favourite tea is a smoky lapsang souchong.'),
      posted(3, 'I am learning to play the bagpipes.'),
    ]);
    await engine.runUntilIdle();
    const active = await engine.memories(dana);
    t.true(active.length >= 3);
    // Strength starts from importance: in days, well above zero.
    for (const s of active) t.true(s.memory.strength > 10, `${s.memory.text}: ${s.memory.strength}`);

    // Nothing has faded yet.
    t.deepEqual(await engine.forgettingPass(now), { users: 1, archived: 0 });

    // Over the next months Dana keeps asking about her bees: each search is a recall.
    const recalled = new Set<string>();
    for (let i = 1; i <= 6; i++) {
      now = T0 + i * 25 * DAY;
      const hits = await engine.search(dana, 'bees on the roof', { k: 1 });
      t.true(hits.some((h) => /bees/.test(h.text)));
      for (const h of hits) if (/bees/.test(h.text)) recalled.add(h.id);
    }
    await engine.runUntilIdle(); // projects the MemoryAccessed events
    const bees = (await engine.memories(dana)).filter((s) => recalled.has(s.memory.id));
    t.true(bees.length > 0 && bees.every((s) => (s.accesses ?? 0) > 0), 'every recalled bee memory counts its recalls');

    now = T0 + 200 * DAY;
    const pass = await engine.forgettingPass(now);
    t.true(pass.archived > 0);
    const after = await engine.memories(dana);
    t.true(after.some((s) => /bees/.test(s.memory.text)), 'the recalled memory is still active');
    t.false(after.some((s) => /bagpipes/.test(s.memory.text)), 'the untouched one faded');
    const all = await engine.memories(dana, true);
    const archived = all.filter((s) => s.status === 'archived');
    t.is(archived.length, pass.archived);
    t.true(archived.some((s) => /bagpipes/.test(s.memory.text)));

    // Out of default search, back with includeArchived.
    t.false((await engine.search(dana, 'bagpipes', { k: 10, recordAccess: false })).some((h) => /bagpipes/.test(h.text)));
    t.true((await engine.search(dana, 'bagpipes', { k: 10, includeArchived: true, recordAccess: false })).some((h) => /bagpipes/.test(h.text)));

    // The same clock archives nothing more; the archive is in the log with its figures.
    t.deepEqual(await engine.forgettingPass(now), { users: 1, archived: 0 });
    const detail = await engine.memory(dana, archived[0]!.memory.id);
    t.is(detail.history.at(-1)?.type, 'MemoryArchived');
    t.regex(detail.history.at(-1)?.reason ?? '', /below floor 0\.05/);

    // A rebuild from the log reproduces every status without running the pass again.
    const statuses = (await engine.memories(dana, true)).map((s) => `${s.memory.id}:${s.status}:${s.accesses}`).sort();
    await engine.replay();
    t.deepEqual((await engine.memories(dana, true)).map((s) => `${s.memory.id}:${s.status}:${s.accesses}`).sort(), statuses);
    let accessEvents = 0;
    for (let p = 0; p < (await engine.ports.log.partitions(TOPICS.memory)); p++) {
      accessEvents += (await engine.ports.log.read(TOPICS.memory, p, 0, 100_000)).filter((r) => r.headers['event-type'] === 'MemoryAccessed').length;
    }
    t.is(accessEvents, 6, 'one access event per recalling search; recordAccess: false records none');
  } finally {
    await engine.close();
    removeDir(dir);
  }
});
